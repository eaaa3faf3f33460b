// Datagram sockets and connections under hostile input, and after their scope closed: every call
// is a typed failure that names what was wrong, or a success; never a defect, never a sync throw
// from an Effect-returning function, no fd left over, and no operation on a number that may
// already belong to another file.
import { fc, test } from "@fast-check/vitest"
import { Address, Connector, ConnectError } from "@effect-connect/core"
import { Cause, Effect, Exit, Scope, Stream } from "effect"
import { describe, expect } from "vitest"
import { Datagram, NativeConnector } from "@effect-connect/native"
import { hostileValue, runs } from "../../core/test/arbitraries.js"
import { closeSync } from "node:fs"
import { content, fdCount, listening, ownPort, reopenAs, tempDir } from "./support.js"

const junk = fc.oneof(hostileValue, fc.anything(), fc.constantFrom(null, undefined, NaN, -1, 1.5, 2 ** 53, "", "\u0000", "x".repeat(100_000), Symbol("s"), Object.create(null)))

// The exit of `make()` (a sync throw fails the test), with the fd count unchanged afterwards.
const settle = async <A, E>(make: () => Effect.Effect<A, E, Scope.Scope>) => {
  const before = fdCount()
  const exit = await Effect.runPromiseExit(Effect.scoped(Effect.suspend(make)).pipe(Effect.timeout("2 seconds")))
  expect(fdCount(), "fds left over").toBe(before)
  expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toBe(false)
  return Exit.isSuccess(exit) ? "ok" as const : Cause.findErrorOption(exit.cause).pipe((e) => e._tag === "Some" ? e.value as ConnectError.ConnectError : undefined)
}

describe("Datagram under hostile input", () => {
  const fields = fc.constantFrom("family", "options", "maxBytes", "broadcast", "local")
  test.prop([fields, junk], runs)("make: InvalidAddress naming the family or option, or a socket", async (field, u) => {
    const outcome = await settle(() =>
      field === "family" ? Datagram.make(u as Datagram.Family)
      : field === "options" ? Datagram.make("udp4", u as Datagram.Options)
      : Datagram.make("udp4", { [field]: u } as Datagram.Options))
    if (outcome === "ok") return
    expect(outcome).toMatchObject({ _tag: "InvalidAddress", field: field === "family" ? "family" : field === "local" ? expect.any(String) : "option" })
    if (field === "maxBytes" || field === "broadcast") expect(outcome?.message).toMatch(new RegExp(`${field} must be .*, got `))
    if (field === "broadcast") expect(typeof u === "boolean" || u === undefined).toBe(false)
  })

  test.prop([fc.constantFrom("send", "connect"), junk], runs)("send and connect: junk data or peer is InvalidAddress; never a defect", async (op, u) => {
    const port = await Effect.runPromise(Effect.scoped(ownPort("refusing")))
    const outcome = await settle(() => Effect.gen(function*() {
      const d = yield* Datagram.make("udp4")
      yield* d.connect(Address.tcp("127.0.0.1", port))
      return yield* op === "send" ? d.send(u as Uint8Array) : d.connect(u as Address.Tcp)
    }))
    expect(outcome).toMatchObject({ _tag: "InvalidAddress", field: op === "send" ? "option" : "family" })
  })

  test("after its scope closed, every operation fails as EBADF without touching the number (another file may have it now)", async () => {
    const port = await Effect.runPromise(Effect.scoped(ownPort("refusing")))
    const scope = Effect.runSync(Scope.make())
    const d = await Effect.runPromise(Scope.provide(Datagram.make("udp4"), scope))
    await Effect.runPromise(Scope.close(scope, Exit.void))
    // The number is reused at once: an operation that reached the kernel would act on this socket.
    const other = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const reuse = yield* Datagram.make("udp4")
      expect(reuse.fd).toBe(d.fd)
      const ops = [
        ["connect", d.connect(Address.tcp("127.0.0.1", port))],
        ["send", d.send(new Uint8Array([1]))],
        ["recv", Stream.runHead(d.receive)],
        ["getpeername", d.peer],
        ["getsockname", d.local]
      ] as const
      const errors = []
      for (const [syscall, op] of ops) errors.push([syscall, yield* Effect.flip(op as Effect.Effect<unknown, Datagram.Error>)] as const)
      return { errors, peer: yield* Effect.exit(reuse.peer) }
    })))
    for (const [syscall, error] of other.errors) expect(error).toMatchObject({ _tag: "UnknownErrno", errno: "EBADF", syscall })
    expect(Exit.isFailure(other.peer) && Cause.findErrorOption(other.peer.cause)).toMatchObject({ _tag: "Some", value: { _tag: "NotConnected" } })
  })

  test("examples: what it says", async () => {
    expect(await settle(() => Datagram.make("udp4", { broadcast: "yes" as unknown as boolean }))).toMatchObject({
      _tag: "InvalidAddress", field: "option", input: `"yes"`, reason: `broadcast must be a boolean, got "yes"`
    })
    expect(await settle(() => Datagram.make(Symbol("udp4") as unknown as Datagram.Family))).toMatchObject({
      _tag: "InvalidAddress", field: "family", reason: "must be one of udp4, udp6, unix, got symbol"
    })
    expect(await settle(() => Datagram.make("udp4", { maxBytes: Object.create(null) }))).toMatchObject({
      _tag: "InvalidAddress", field: "option", reason: `maxBytes must be an integer from 1 to ${Datagram.maxBytesLimit}, got object`
    })
  })
})

describe("a Connection after its scope closed", () => {
  test("toNodeSocket and detach throw an Error that says so, acquiring the reader of the Socket from toSocket fails with SocketError SocketOpenError, local is BadDescriptor; the number (now another file's) is left alone", async () => {
    const outcome = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* listening()
      const port = (server.address() as { port: number }).port
      const scope = yield* Scope.make()
      const connection = yield* Scope.provide(Connector.connect(Address.tcp("127.0.0.1", port)), scope)
      yield* Scope.close(scope, Exit.void)
      const file = reopenAs(connection.fd, dir)
      const thrown = (f: () => unknown) => {
        try {
          f()
          return "returned"
        } catch (e) {
          return e
        }
      }
      const result = {
        toNodeSocket: thrown(() => connection.toNodeSocket()),
        detach: thrown(() => connection.detach()),
        local: thrown(() => connection.local),
        toSocket: yield* Effect.exit(Effect.scoped(Effect.flatMap(connection.toSocket(), (socket) => socket.reader))),
        file: content(file)
      }
      closeSync(file)
      return result
    }).pipe(Effect.provide(NativeConnector.layer))))
    expect(outcome.toNodeSocket).toBeInstanceOf(Error)
    expect((outcome.toNodeSocket as Error).message).toMatch(/^fd \d+ is closed: it cannot be handed to a net.Socket$/)
    expect((outcome.detach as Error).message).toMatch(/^fd \d+ is closed: it cannot be detached$/)
    expect(outcome.local).toMatchObject({ _tag: "BadDescriptor", errno: "EBADF", syscall: "getsockname" })
    const socketError = Exit.isFailure(outcome.toSocket) ? Cause.findErrorOption(outcome.toSocket.cause) : undefined
    expect(socketError, Exit.isFailure(outcome.toSocket) ? Cause.pretty(outcome.toSocket.cause) : "ran").toMatchObject({ _tag: "Some", value: { _tag: "SocketError", reason: { _tag: "SocketOpenError", kind: "Unknown" } } })
    expect(socketError?._tag === "Some" && String((socketError.value as { reason: { cause: Error } }).reason.cause.message)).toMatch(/^fd \d+ is closed: it cannot be handed to a net.Socket$/)
    expect(outcome.file).toMatch(/^file \d+$/)
  })
})
