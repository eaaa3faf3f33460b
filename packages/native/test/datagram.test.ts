import { Address, ConnectError } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { createSocket, type Socket } from "node:dgram"
import { Datagram } from "@effect-connect/native"
import { fdCount } from "./support.js"

const udpPeer = Effect.acquireRelease(
  Effect.callback<Socket>((resume) => {
    const socket = createSocket("udp4")
    socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
  }),
  (socket) => Effect.sync(() => socket.close())
)
const portOf = (s: Socket) => s.address().port
const nextMessage = (s: Socket) =>
  Effect.callback<string>((resume) => {
    s.once("message", (m) => resume(Effect.succeed(m.toString())))
  })
const sendFrom = (s: Socket, text: string, port: number) =>
  Effect.callback<void>((resume) => s.send(text, port, "127.0.0.1", () => resume(Effect.void)))

describe("Datagram: the seed's association semantics on the real kernel", () => {
  it.live("associate, receive only from the peer, re-associate, dissolve", () =>
    Effect.gen(function*() {
      const a = yield* udpPeer
      const b = yield* udpPeer
      const d = yield* Datagram.make("udp4", { local: Address.tcp("127.0.0.1", 0) })
      const local = yield* d.local
      expect(local._tag).toBe("Tcp")
      const myPort = (local as Address.Tcp).port

      yield* d.connect(Address.tcp("127.0.0.1", portOf(a)))
      expect(yield* d.peer).toEqual(Address.tcp("127.0.0.1", portOf(a)))
      const fiber = yield* Effect.forkChild(nextMessage(a))
      yield* d.send(new TextEncoder().encode("to a"))
      expect(yield* Fiber.join(fiber)).toBe("to a")

      // b is not the peer: the kernel drops its datagram; a's arrives
      yield* sendFrom(b, "from b", myPort)
      yield* sendFrom(a, "from a", myPort)
      const [message] = yield* Stream.runCollect(Stream.take(d.receive, 1))
      expect(new TextDecoder().decode(message!.data)).toBe("from a")
      expect(message!.from).toEqual(Address.tcp("127.0.0.1", portOf(a)))

      // re-associate with b
      yield* d.connect(Address.tcp("127.0.0.1", portOf(b)))
      expect(yield* d.peer).toEqual(Address.tcp("127.0.0.1", portOf(b)))
      const toB = yield* Effect.forkChild(nextMessage(b))
      yield* d.send(new TextEncoder().encode("to b"))
      expect(yield* Fiber.join(toB)).toBe("to b")

      // dissolve: no peer, a send needs a destination
      yield* d.connect(Address.unspecified)
      expect(yield* Effect.flip(d.peer)).toMatchObject({ _tag: "NotConnected", errno: "ENOTCONN", code: 107, syscall: "getpeername" })
      expect(yield* Effect.flip(d.send(new Uint8Array([1]))))
        .toMatchObject({ _tag: "DestinationRequired", errno: "EDESTADDRREQ", code: 89, syscall: "send" })
    }))

  it.effect("a broadcast address needs SO_BROADCAST: PermissionDenied { reason: broadcast }", () =>
    Effect.gen(function*() {
      const without = yield* Datagram.make("udp4")
      expect(yield* Effect.flip(without.connect(Address.tcp("127.255.255.255", 9)))).toMatchObject({
        _tag: "PermissionDenied", errno: "EACCES", code: 13, syscall: "connect", reason: "broadcast",
        address: "tcp://127.255.255.255:9", transient: false
      })
      const withFlag = yield* Datagram.make("udp4", { broadcast: true })
      yield* withFlag.connect(Address.tcp("127.255.255.255", 9))
    }))

  it.effect("maxBytes outside 1..maxBytesLimit is InvalidAddress { field: option } before any socket is made", () =>
    Effect.gen(function*() {
      const before = fdCount()
      for (const maxBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53, Datagram.maxBytesLimit + 1]) {
        expect(yield* Effect.flip(Datagram.make("udp4", { maxBytes }))).toMatchObject({
          _tag: "InvalidAddress", input: String(maxBytes), field: "option",
          reason: `maxBytes must be an integer from 1 to ${Datagram.maxBytesLimit}, got ${maxBytes}`
        })
      }
      expect(fdCount()).toBe(before)
      yield* Datagram.make("udp4", { maxBytes: Datagram.maxBytesLimit })
    }))

  it.effect("a family other than udp4, udp6 or unix is InvalidAddress { field: family } before any socket is made, never a unix socket", () =>
    Effect.gen(function*() {
      const before = fdCount()
      for (const family of ["udp", "tcp4", "UDP4", "", null]) {
        expect(yield* Effect.flip(Datagram.make(family as unknown as Datagram.Family))).toMatchObject({
          _tag: "InvalidAddress", input: ConnectError.shown(family), field: "family",
          reason: `must be one of udp4, udp6, unix, got ${ConnectError.shown(family)}`
        })
      }
      expect(fdCount()).toBe(before)
    }))
})
