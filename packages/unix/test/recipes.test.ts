// The kernel's own recipes for the AF_UNIX connect errnos through the public API
// (`UnixConnector.layer`, `Datagram`), each asserting the whole error; the stream ones also over
// NodeConnector. Not repeated here: ENOENT,
// ENOTDIR, ELOOP, a regular file and a stale socket (unix.test.ts, with their diagnoses),
// permissions from a child running as nobody (unix.test.ts), ENAMETOOLONG (unix.test.ts,
// connector.test.ts), EMFILE (packages/native/test/recipes.test.ts).
import { Address, Connector } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { join } from "node:path"
import { Datagram, NodeConnector } from "@effect-connect/native"
import { UnixConnector } from "@effect-connect/unix"
import { loadedBinding } from "../../native/src/internal/binding.js"
import { listening, rawListener, tempDir } from "../../native/test/support.js"

const binding = loadedBinding()

const unixFields = (errno: string, code: number, transient: boolean, address: string, syscall = "connect") => ({
  errno, code, transient, address, syscall
})

/** Every enumerable field of an error, which is all but its (derived) message. */
const fieldsOf = (e: object) => ({ ...e })

const abstractName = (what: string) => `ec-recipes-${process.pid}-${what}`

// The stream recipes through UnixConnector over each connector (datagrams need the addon).
const over = {
  NativeConnector: UnixConnector.layer,
  NodeConnector: Layer.effect(Connector.Connector, UnixConnector.make()).pipe(Layer.provide(NodeConnector.layer))
}
const connectors = ["NativeConnector", "NodeConnector"] as const

describe.skipIf(process.platform !== "linux")("AF_UNIX recipes (Linux)", () => {
  it.live.each(connectors)("%s: a stream connect to a datagram socket's path, and a datagram connect to a listener's: WrongProtocolType", (via) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const dgram = join(dir, "dgram.sock")
      yield* Datagram.make("unix", { local: Address.unix(dgram) })
      const stream = yield* Effect.flip(Connector.connect(Address.unix(dgram)))
      expect(fieldsOf(stream)).toEqual({ _tag: "WrongProtocolType", ...unixFields("EPROTOTYPE", 91, false, `unix://${dgram}`) })
      expect(stream.message).toContain("a stream socket connecting to a datagram socket's path")

      const listener = join(dir, "stream.sock")
      yield* listening(listener)
      const d = yield* Datagram.make("unix")
      expect(fieldsOf(yield* Effect.flip(d.connect(Address.unix(listener))))).toEqual({
        _tag: "WrongProtocolType", ...unixFields("EPROTOTYPE", 91, false, `unix://${listener}`)
      })
    }).pipe(Effect.provide(over[via])))

  it.live.each(connectors)("%s: an abstract name nobody bound: ConnectionRefused, transient, and no talk of socket files", (via) =>
    Effect.gen(function*() {
      const name = abstractName("unbound")
      const address = `unix-abstract:${name}`
      const stream = yield* Effect.flip(Connector.connect(Address.abstract(name)))
      expect(fieldsOf(stream)).toEqual({ _tag: "ConnectionRefused", ...unixFields("ECONNREFUSED", 111, true, address) })
      expect(stream.message).toBe(
        `connect ${address} failed with ECONNREFUSED: the peer refused the connection ` +
          "(no socket is bound to this abstract name: its server has not started, or has exited)"
      )
      const d = yield* Datagram.make("unix")
      const datagram = yield* Effect.flip(d.connect(Address.abstract(name)))
      expect(fieldsOf(datagram)).toEqual({ _tag: "ConnectionRefused", ...unixFields("ECONNREFUSED", 111, true, address) })
      expect(datagram.message).toContain("no socket is bound to this abstract name")
    }).pipe(Effect.provide(over[via])))

  it.live.each(connectors)("%s: a listener whose backlog is full (backlog 0, never accepting): TryAgain { reason: backlog-full }, transient", (via) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "full.sock")
      yield* rawListener("unix", { family: binding.constants.AF_UNIX, address: Buffer.from(path), port: 0 }, 0)
      // Backlog 0 still queues one: connects succeed until the queue is full.
      let error: unknown
      for (let i = 0; i < 8 && error === undefined; i++) {
        const attempt = yield* Effect.result(Connector.connect(Address.unix(path), { timeout: "2 seconds" }))
        if (attempt._tag === "Failure") error = attempt.failure
      }
      expect(fieldsOf(error as object)).toEqual({
        _tag: "TryAgain", ...unixFields("EAGAIN", 11, true, `unix://${path}`), reason: "backlog-full"
      })
      expect((error as Error).message).toContain("the listener's backlog is full")
    }).pipe(Effect.provide(over[via])))

  it.live("a local name already taken, path and abstract: AddressInUse from bind, permanent", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "taken.sock")
      yield* listening(path)
      const onPath = yield* Effect.flip(Datagram.make("unix", { local: Address.unix(path) }))
      expect(fieldsOf(onPath)).toEqual({ _tag: "AddressInUse", ...unixFields("EADDRINUSE", 98, false, `unix://${path}`, "bind") })
      expect(onPath.message).toContain("a socket file already exists at the local name")

      const name = abstractName("taken")
      yield* Datagram.make("unix", { local: Address.abstract(name) })
      const abstract = yield* Effect.flip(Datagram.make("unix", { local: Address.abstract(name) }))
      expect(fieldsOf(abstract)).toEqual({
        _tag: "AddressInUse", ...unixFields("EADDRINUSE", 98, false, `unix-abstract:${name}`, "bind")
      })
      expect(abstract.message).toContain("another socket is bound to this abstract name")
    }))
})
