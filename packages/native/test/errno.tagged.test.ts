/**
 * The errnos of the binding tests, this time as tagged errors with their fields: the state errors
 * through the raw API, and the errnos loopback will not produce (injected by seccomp in a child
 * process) through the whole `Connector.connect` path.
 */
import { Address } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { closeSync, openSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Raw } from "@effect-connect/native"
import { runChild } from "./child.js"
import { errnoInject, errnoInjectMissing } from "./errno-inject.js"
import { listening, ownPort, tempDir } from "./support.js"

const raw = { syscall: "connect", transient: false } as const

describe("state errors through the raw API", () => {
  it.live("EISCONN, EBADF, ENOTSOCK, EAFNOSUPPORT, EINVAL", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      yield* listening(path)
      const unix = yield* Raw.socket("unix", "stream")
      yield* Raw.connect(unix, Address.unix(path))
      expect(yield* Effect.flip(Raw.connect(unix, Address.unix(path)))).toMatchObject({
        _tag: "AlreadyConnected", errno: "EISCONN", code: 106, address: `unix://${path}`, ...raw
      })

      const to = Address.tcp("127.0.0.1", 1)
      expect(yield* Effect.flip(Raw.connect(1 << 30, to))).toMatchObject({
        _tag: "BadDescriptor", errno: "EBADF", code: 9, address: "tcp://127.0.0.1:1", ...raw
      })
      const file = join(dir, "regular")
      writeFileSync(file, "x")
      const fd = yield* Effect.acquireRelease(Effect.sync(() => openSync(file, "r")), (f) => Effect.sync(() => closeSync(f)))
      expect(yield* Effect.flip(Raw.connect(fd, to))).toMatchObject({ _tag: "NotASocket", errno: "ENOTSOCK", code: 88, ...raw })

      const inet = yield* Raw.socket("inet", "stream")
      expect(yield* Effect.flip(Raw.connect(inet, Address.tcp("::1", 1)))).toMatchObject({
        _tag: "AddressFamilyNotSupported", errno: "EAFNOSUPPORT", code: 97, address: "tcp://[::1]:1", ...raw
      })
      const inet6 = yield* Raw.socket("inet6", "stream")
      expect(yield* Effect.flip(Raw.connect(inet6, to))).toMatchObject({
        _tag: "InvalidArgument", errno: "EINVAL", code: 22, ...raw
      })
    }))

  it.live("pendingError proves the connection: no error while the SYN is unanswered is AlreadyInProgress", () =>
    Effect.gen(function*() {
      const to = Address.tcp("127.0.0.1", yield* ownPort("stuck"))
      // The black hole's accept queue takes one or two; after that SYNs are dropped.
      const fds: Array<number> = []
      for (let i = 0; i < 4; i++) {
        const fd = yield* Raw.socket("inet", "stream")
        yield* Effect.result(Raw.connect(fd, to))
        fds.push(fd)
      }
      yield* Effect.sleep("20 millis")
      // SO_ERROR is 0 for every one of them; only the ones in the queue are connected.
      const outcomes = yield* Effect.forEach(fds, (fd) => Effect.result(Raw.pendingError(fd, to)))
      const failures = outcomes.flatMap((o) => o._tag === "Failure" ? [o.failure] : [])
      expect(failures.length).toBeGreaterThan(0)
      for (const e of failures) {
        expect(e).toMatchObject({ _tag: "AlreadyInProgress", errno: "EALREADY", code: 114, address: Address.format(to), ...raw })
      }
    }))

  // A failed socket polls writable for ever, and its SO_ERROR is 0 once read: so a second look
  // (a retry around writable + pendingError, say) used to read as a connection. connect(2) again
  // names the failure whose errno is gone. (ConnectionAborted is core's new row for ECONNABORTED.)
  it.live("pendingError after the error was read: ConnectionAborted, never a connection", () =>
    Effect.gen(function*() {
      const to = Address.tcp("127.0.0.1", yield* ownPort("refusing"))
      const fd = yield* Raw.socket("inet", "stream")
      yield* Effect.result(Raw.connect(fd, to))
      yield* Raw.writable(fd)
      expect(yield* Effect.flip(Raw.pendingError(fd, to))).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED" })
      yield* Raw.writable(fd)
      expect(yield* Effect.flip(Raw.pendingError(fd, to))).toMatchObject({
        _tag: "ConnectionAborted", errno: "ECONNABORTED", code: 103, address: Address.format(to), syscall: "connect", transient: true
      })
    }))

  it.live("EINPROGRESS, then EALREADY while the SYN is unanswered", () =>
    Effect.gen(function*() {
      const to = Address.tcp("127.0.0.1", yield* ownPort("stuck"))
      let already: unknown
      for (let i = 0; i < 8 && already === undefined; i++) {
        const fd = yield* Raw.socket("inet", "stream")
        expect(yield* Effect.flip(Raw.connect(fd, to))).toMatchObject({ _tag: "InProgress", errno: "EINPROGRESS", code: 115, ...raw })
        const again = yield* Effect.result(Raw.connect(fd, to))
        if (again._tag === "Failure") already = again.failure
      }
      expect(already).toMatchObject({
        _tag: "AlreadyInProgress", errno: "EALREADY", code: 114, address: Address.format(to), ...raw
      })
    }))
})

// A connect through NativeConnector.layer in a child whose `syscall` always fails with `errno`.
const connectInjected = (syscall: string, errno: number) =>
  runChild(`out.error = await flip(Connector.connect(Address.tcp("127.0.0.1", 1)))`, {
    wrap: [errnoInject!, syscall, String(errno), "--"],
    timeout: 20_000
  }).error

describe(`injected errnos through Connector.connect${errnoInjectMissing === undefined ? "" : ` (skipped: ${errnoInjectMissing})`}`, () => {
  const connect = { syscall: "connect", address: "tcp://127.0.0.1:1" }
  const cases = [
    ["connect", "EADDRINUSE", 98, { _tag: "AddressInUse", errno: "EADDRINUSE", code: 98, transient: true, ...connect }],
    ["connect", "EPERM", 1, { _tag: "OperationNotPermitted", errno: "EPERM", code: 1, transient: false, ...connect }],
    ["connect", "ENOBUFS", 105, { _tag: "OutOfResources", errno: "ENOBUFS", code: 105, transient: true, ...connect }],
    ["socket", "EMFILE", 24, { _tag: "TooManyOpenFiles", errno: "EMFILE", code: 24, transient: true, scope: "process", syscall: "socket" }]
  ] as const
  it.skipIf(errnoInject === undefined).each(cases)("%s failing with %s (%d)", (syscall, _name, errno, expected) => {
    expect(connectInjected(syscall, errno)).toEqual(expect.objectContaining(expected))
  }, 30_000)
})
