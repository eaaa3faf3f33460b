// Datagram sends and receives that wait at the same time, on the real kernel: unix datagram
// sockets in a temporary directory (a peer whose queue is full makes a send wait) and loopback
// UDP. They queue per direction on one watch of the fd: all complete, in order per direction,
// an interrupted one leaves the others waiting, and closing the scope fails those still waiting.
import { Address } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import { constants as os } from "node:os"
import { join } from "node:path"
import { Datagram } from "@effect-connect/native"
import { loadedBinding, type SockAddr } from "../src/internal/binding.js"
import { fdCount, tempDir } from "./support.js"

const binding = loadedBinding()

const c = binding.constants
const EAGAIN = os.errno.EAGAIN
const text = (s: string) => new TextEncoder().encode(s)
const decode = (m: Datagram.Message) => new TextDecoder().decode(m.data)
const unixAddress = (path: string): SockAddr => ({ family: c.AF_UNIX, address: new TextEncoder().encode(path), port: 0 })

/** A raw datagram socket of ours (bound to `at`), closed with the scope. */
const rawSocket = (family: number, at: SockAddr) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const fd = binding.socket(family, c.SOCK_DGRAM)
      if (fd < 0 || binding.bind(fd, at) < 0) throw new Error(`raw datagram socket: ${fd}`)
      return fd
    }),
    (fd) => Effect.sync(() => binding.close(fd))
  )

/**
 * `d`, a unix datagram socket at `x`, associated with `y`, a raw one that is not associated
 * with `d` (an associated peer would take `d`'s datagrams past its full queue) and sends to `x`.
 */
const unixPair = Effect.gen(function*() {
  const dir = yield* tempDir
  const x = join(dir, "x")
  const y = yield* rawSocket(c.AF_UNIX, unixAddress(join(dir, "y")))
  const d = yield* Datagram.make("unix", { local: Address.unix(x) })
  yield* d.connect(Address.unix(join(dir, "y")))
  return { d, y, x: unixAddress(x) }
})

/** Sends from `d` until `y`'s queue is full; the number of datagrams queued. */
const fill = (d: Datagram.Datagram) => {
  for (let i = 0; i < 10_000; i++) {
    const rc = binding.send(d.fd, text("filler"))
    if (rc === -EAGAIN) return i
    if (rc < 0) throw new Error(`send: ${rc}`)
  }
  throw new Error("the peer's queue never filled")
}

/** Everything queued at `fd` now. */
const drainNow = (fd: number): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < 10_000; i++) {
    const r = binding.recvfrom(fd, 64)
    if (typeof r === "number") {
      if (r === -EAGAIN) return out
      throw new Error(`recvfrom: ${r}`)
    }
    out.push(new TextDecoder().decode(r.data))
  }
  return out
}

/** Receives at `fd` until `count` datagrams came (within 200 rounds of 5 ms), as `d`'s waiting sends go out. */
const drain = (fd: number, count: number) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    for (let round = 0; round < 200 && out.length < count; round++) {
      out.push(...drainNow(fd))
      if (out.length < count) yield* Effect.sleep("5 millis")
    }
    return out
  })

/** Forked at once, so that fibers forked one after another wait in that order. */
const fork = <A, E>(effect: Effect.Effect<A, E>) => Effect.forkChild(effect, { startImmediately: true })
const receiveOne = (d: Datagram.Datagram) => Effect.map(Stream.runHead(d.receive), Option.map(decode))
const joinWithin = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.timeout(Fiber.join(fiber), "5 seconds")
const isWaiting = (fiber: Fiber.Fiber<unknown, unknown>) => fiber.pollUnsafe() === undefined

describe("Datagram: sends and receives wait together", () => {
  it.live.each(["recv", "send"] as const)("a send waits while a recv waits on the same socket (%s first): both complete once the peer sends and drains", (first) =>
    Effect.gen(function*() {
      const { d, x, y } = yield* unixPair
      const fillers = fill(d)
      expect(fillers).toBeGreaterThan(0)
      const early = first === "recv" ? yield* fork(receiveOne(d)) : undefined
      const send = yield* fork(d.send(text("late")))
      const recv = early ?? (yield* fork(receiveOne(d)))
      yield* Effect.sleep("20 millis")
      expect([isWaiting(recv), isWaiting(send)]).toEqual([true, true])

      expect(binding.sendto(y, text("hello"), x)).toBe(5)
      expect(yield* joinWithin(recv)).toEqual(Option.some("hello"))
      expect(isWaiting(send)).toBe(true)
      const received = yield* drain(y, fillers + 1)
      expect(received).toEqual([...Array.from({ length: fillers }, () => "filler"), "late"])
      expect(yield* joinWithin(send)).toBe(4)
    }))

  it.live("N concurrent recvs complete in FIFO order as N datagrams arrive (unix)", () =>
    Effect.gen(function*() {
      const { d, x, y } = yield* unixPair
      const n = 8
      const fibers = []
      for (let i = 0; i < n; i++) fibers.push(yield* fork(receiveOne(d)))
      for (let i = 0; i < n; i++) {
        expect(binding.sendto(y, text(`m${i}`), x)).toBe(2)
        // Half arrive one at a time, half in a burst.
        if (i < n / 2) yield* Effect.sleep("2 millis")
      }
      const got = []
      for (const fiber of fibers) got.push(yield* joinWithin(fiber))
      expect(got).toEqual(Array.from({ length: n }, (_, i) => Option.some(`m${i}`)))
    }))

  it.live("N concurrent recvs complete in FIFO order as N datagrams arrive (udp4)", () =>
    Effect.gen(function*() {
      const d = yield* Datagram.make("udp4", { local: Address.tcp("127.0.0.1", 0) })
      const local = yield* d.local
      const to: SockAddr = { family: c.AF_INET, address: "127.0.0.1", port: (local as Address.Tcp).port }
      const sender = yield* rawSocket(c.AF_INET, { family: c.AF_INET, address: "127.0.0.1", port: 0 })
      const n = 16
      const fibers = []
      for (let i = 0; i < n; i++) fibers.push(yield* fork(receiveOne(d)))
      for (let i = 0; i < n; i++) expect(binding.sendto(sender, text(`u${i}`), to)).toBeGreaterThan(0)
      const got = []
      for (const fiber of fibers) got.push(yield* joinWithin(fiber))
      expect(got).toEqual(Array.from({ length: n }, (_, i) => Option.some(`u${i}`)))
    }))

  it.live("N concurrent sends that must wait complete in order", () =>
    Effect.gen(function*() {
      const { d, y } = yield* unixPair
      const fillers = fill(d)
      const n = 8
      const fibers = []
      for (let i = 0; i < n; i++) fibers.push(yield* fork(d.send(text(`s${i}`))))
      yield* Effect.sleep("20 millis")
      expect(fibers.every(isWaiting)).toBe(true)
      const received = yield* drain(y, fillers + n)
      expect(received.slice(fillers)).toEqual(Array.from({ length: n }, (_, i) => `s${i}`))
      expect(received.length).toBe(fillers + n)
      for (const fiber of fibers) expect(yield* joinWithin(fiber)).toBe(2)
    }))

  it.live("interrupting a waiting recv (or send) leaves the others waiting, in order", () =>
    Effect.gen(function*() {
      const { d, x, y } = yield* unixPair
      const recvs = []
      for (let i = 0; i < 5; i++) recvs.push(yield* fork(receiveOne(d)))
      const fillers = fill(d)
      const sends = []
      for (let i = 0; i < 3; i++) sends.push(yield* fork(d.send(text(`s${i}`))))
      yield* Fiber.interrupt(recvs[1]!)
      yield* Fiber.interrupt(recvs[3]!)
      yield* Fiber.interrupt(sends[1]!)
      expect([...recvs, ...sends].map(isWaiting)).toEqual([true, false, true, false, true, true, false, true])

      for (const m of ["a", "b", "c"]) expect(binding.sendto(y, text(m), x)).toBe(1)
      expect(yield* joinWithin(recvs[0]!)).toEqual(Option.some("a"))
      expect(yield* joinWithin(recvs[2]!)).toEqual(Option.some("b"))
      expect(yield* joinWithin(recvs[4]!)).toEqual(Option.some("c"))
      const received = yield* drain(y, fillers + 2)
      expect(received.slice(fillers)).toEqual(["s0", "s2"])
      expect(yield* joinWithin(sends[0]!)).toBe(2)
      expect(yield* joinWithin(sends[2]!)).toBe(2)

      // With every waiter gone, the next ones wait and complete as the first did.
      const last = yield* fork(receiveOne(d))
      yield* Fiber.interrupt(last)
      const again = yield* fork(receiveOne(d))
      expect(binding.sendto(y, text("d"), x)).toBe(1)
      expect(yield* joinWithin(again)).toEqual(Option.some("d"))
    }))

  it.live("a direction whose last waiter left is no longer watched: a datagram nobody waits for does not spin the loop while a send waits", () =>
    Effect.gen(function*() {
      const { d, x, y } = yield* unixPair
      const recv = yield* fork(receiveOne(d))
      fill(d)
      const send = yield* fork(d.send(text("late")))
      yield* Fiber.interrupt(recv)
      // Readable from now on, and nobody receives: a watch still set to readable would call
      // back on every loop turn (level-triggered), keeping this process on the CPU.
      expect(binding.sendto(y, text("unread"), x)).toBe(6)
      yield* Effect.sleep("20 millis")
      const cpu = process.cpuUsage()
      yield* Effect.sleep("200 millis")
      const used = process.cpuUsage(cpu)
      expect((used.user + used.system) / 1000).toBeLessThan(100)
      expect(isWaiting(send)).toBe(true)
      drainNow(y)
      expect(yield* joinWithin(send)).toBe(4)
      expect(yield* Effect.timeout(receiveOne(d), "5 seconds")).toEqual(Option.some("unread"))
    }))

  it.live("a recv interrupted by the completion of another (a race of two) takes no datagram", () =>
    Effect.gen(function*() {
      const { d, x, y } = yield* unixPair
      const race = yield* fork(Effect.race(receiveOne(d), receiveOne(d)))
      yield* Effect.sleep("20 millis")
      // Both arrive before the loop turns: the winner's resumption interrupts the loser while
      // it still waits, so the second datagram stays queued for the next recv.
      for (const m of ["a", "b"]) expect(binding.sendto(y, text(m), x)).toBe(1)
      expect(yield* joinWithin(race)).toEqual(Option.some("a"))
      expect(yield* Effect.timeout(receiveOne(d), "5 seconds")).toEqual(Option.some("b"))
    }))

  it.live("a pending error (a refused datagram) fails the head recv typed; the next recvs keep waiting and complete", () =>
    Effect.gen(function*() {
      // A port of ours, closed again: the kernel answers datagrams to it with ICMP port
      // unreachable, which sets ECONNREFUSED on the associated socket.
      const port = yield* Effect.scoped(Effect.gen(function*() {
        const probe = yield* rawSocket(c.AF_INET, { family: c.AF_INET, address: "127.0.0.1", port: 0 })
        const name = binding.getsockname(probe)
        if (typeof name === "number") throw new Error(`getsockname: ${name}`)
        return name.port
      }))
      const d = yield* Datagram.make("udp4", { local: Address.tcp("127.0.0.1", 0) })
      yield* d.connect(Address.tcp("127.0.0.1", port))
      const first = yield* fork(receiveOne(d))
      const second = yield* fork(receiveOne(d))
      expect(yield* d.send(text("refused"))).toBe(7)
      const refused = yield* Effect.exit(joinWithin(first))
      expect(Exit.isFailure(refused) && Cause.findErrorOption(refused.cause)).toMatchObject({
        _tag: "Some",
        value: { _tag: "ConnectionRefused", errno: "ECONNREFUSED", syscall: "recv" }
      })
      yield* Effect.sleep("20 millis")
      expect(isWaiting(second)).toBe(true)
      // A peer on that port now: its datagram reaches the recv that waited on.
      const peer = yield* rawSocket(c.AF_INET, { family: c.AF_INET, address: "127.0.0.1", port })
      const local = (yield* d.local) as Address.Tcp
      expect(binding.sendto(peer, text("reply"), { family: c.AF_INET, address: "127.0.0.1", port: local.port })).toBe(5)
      expect(yield* joinWithin(second)).toEqual(Option.some("reply"))
    }))

  it.live("closing the scope with waiters fails them as after close (EBADF), and leaks no fd", () =>
    Effect.gen(function*() {
      const before = fdCount()
      const scope = yield* Scope.make()
      const { d } = yield* Scope.provide(unixPair, scope)
      fill(d)
      const waiting: Array<Fiber.Fiber<unknown, Datagram.Error>> = [
        yield* fork(receiveOne(d)),
        yield* fork(d.send(text("late"))),
        yield* fork(receiveOne(d)),
        yield* fork(d.send(text("later")))
      ]
      yield* Effect.sleep("20 millis")
      expect(waiting.every(isWaiting)).toBe(true)
      yield* Scope.close(scope, Exit.void)
      const errors = []
      for (const fiber of waiting) {
        const exit = yield* Effect.exit(joinWithin(fiber))
        errors.push(Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none())
      }
      expect(errors).toMatchObject(["recv", "send", "recv", "send"].map((syscall) => ({
        _tag: "Some",
        value: { _tag: "UnknownErrno", errno: "EBADF", syscall }
      })))
      // After close, as before: EBADF without a system call.
      expect(yield* Effect.flip(d.send(text("after")))).toMatchObject({ _tag: "UnknownErrno", errno: "EBADF", syscall: "send" })
      expect(fdCount()).toBe(before)
    }))
})
