// Errnos that need a particular kernel state, produced for real over loopback. NodeConnector
// gives the first one too; it cannot give the other two: node:net has no TCP_SYNCNT (refused by
// name, node-connector.test.ts; its deadline is tested there), and its 'connect' fires once the
// handshake is done, so a reset before accept reaches the socket's first read, not the connect.
import { Address, Connector } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { NativeConnector, NodeConnector, Raw } from "@effect-connect/native"
import { ownPort } from "./support.js"

const stuckListener = ownPort("stuck")

describe("kernel states", () => {
  it.live.each([["NativeConnector", NativeConnector.layer, 0], ["NodeConnector", NodeConnector.layer, 1]] as const)(
    "%s: two SO_REUSEADDR sockets on one local address and port to one destination: AddressNotAvailable, permanent",
    ([, layer, offset]) =>
    Effect.gen(function*() {
      const port = yield* stuckListener
      // below the ephemeral range, so no other connect holds it
      const local = { host: "127.0.0.1", port: 20000 + ((process.pid * 2 + offset) % 10000) }
      const first = yield* Connector.connect(Address.tcp("127.0.0.1", port), { reuseAddress: true, local })
      expect(first.local).toEqual(Address.tcp("127.0.0.1", local.port))
      const error = yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", port), { reuseAddress: true, local }))
      expect(error).toMatchObject({
        _tag: "AddressNotAvailable", errno: "EADDRNOTAVAIL", code: 99, syscall: "connect",
        address: `tcp://127.0.0.1:${port}`, transient: false
      })
    }).pipe(Effect.provide(layer)))

  it.live("SYNs dropped by a full backlog: the kernel's ETIMEDOUT with TCP_SYNCNT=1, and our deadline", () =>
    Effect.gen(function*() {
      const port = yield* stuckListener
      const to = Address.tcp("127.0.0.1", port)
      // fill the accept queue (backlog 0 holds one; a second is kept in SYN state)
      for (let i = 0; i < 2; i++) yield* Effect.result(Connector.connect(to, { timeout: "300 millis" }))
      const deadline = yield* Effect.flip(Connector.connect(to, { timeout: "200 millis" }))
      expect(deadline).toMatchObject({ _tag: "TimedOut", errno: "ETIMEDOUT", source: "deadline", address: `tcp://127.0.0.1:${port}` })
      const kernel = yield* Effect.flip(Connector.connect(to, { linux: { synRetries: 1 }, timeout: "10 seconds" }))
      expect(kernel).toMatchObject({
        _tag: "TimedOut", errno: "ETIMEDOUT", code: 110, syscall: "connect", source: "kernel", transient: true
      })
    }).pipe(Effect.provide(NativeConnector.layer)), 20_000)

  it.live("a handshake completed, then the listener closed before accepting: ConnectionReset from SO_ERROR", () =>
    Effect.gen(function*() {
      const listener = yield* Scope.make()
      const port = yield* Scope.provide(stuckListener, listener)
      const to = Address.tcp("127.0.0.1", port)
      const fd = yield* Raw.socket("inet", "stream")
      // On loopback the handshake is done when connect(2) returns EINPROGRESS: the connection
      // waits in the listener's accept queue.
      expect(yield* Effect.flip(Raw.connect(fd, to))).toMatchObject({ _tag: "InProgress", errno: "EINPROGRESS" })
      // Closing a listener resets the connections it never accepted.
      yield* Scope.close(listener, Exit.void)
      yield* Raw.writable(fd)
      expect(yield* Effect.flip(Raw.pendingError(fd, to))).toMatchObject({
        _tag: "ConnectionReset", errno: "ECONNRESET", code: 104, syscall: "connect", address: `tcp://127.0.0.1:${port}`, transient: true
      })
    }))
})
