// What a user sees when a policy ends a loop of real connects: the last attempt's own error and
// the attempt count, never the kernel's ETIMEDOUT story for our own deadline.
import { Address, ConnectError, Connector, Policy } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { NativeConnector } from "@effect-connect/native"
import { ownPort } from "./support.js"

describe("policies over real connects", () => {
  it.live("refused retries under a deadline: TimedOut that keeps the refusal and the attempt count", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const error = yield* Connector.connect(Address.tcp("127.0.0.1", port)).pipe(
        Policy.retryTransient(Policy.backoff({ base: "50 millis" })),
        Policy.deadline("1 second"),
        Effect.flip
      )
      expect(error).toMatchObject({
        _tag: "TimedOut", errno: "ETIMEDOUT", source: "deadline", scope: "overall", address: `tcp://127.0.0.1:${port}`,
        cause: { _tag: "ConnectionRefused", errno: "ECONNREFUSED", syscall: "connect", address: `tcp://127.0.0.1:${port}` }
      })
      if (error._tag !== "TimedOut") return
      expect(error.cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      // attempts at about 0, 50, 150, 350 and 750 ms
      expect(error.attempts).toBeGreaterThanOrEqual(3)
      expect(error.elapsed).toBeGreaterThanOrEqual(1000)
      expect(error.message).toMatch(new RegExp(
        `^connect tcp://127\\.0\\.0\\.1:${port}: gave up after \\d+\\.\\d s and ${error.attempts} attempts; ` +
          "the last failed with ECONNREFUSED: the peer refused the connection \\(nothing is listening on that port\\)$"
      ))
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("a per-attempt timeout says it was ours, with its length", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("stuck")
      const to = Address.tcp("127.0.0.1", port)
      // fill the accept queue (backlog 0 holds one; a second is kept in SYN state)
      for (let i = 0; i < 2; i++) yield* Effect.result(Connector.connect(to, { timeout: "300 millis" }))
      const error = yield* Effect.flip(Connector.connect(to, { timeout: "200 millis" }))
      expect(error).toMatchObject({ _tag: "TimedOut", source: "deadline", scope: "attempt", elapsed: 200 })
      expect(error.message).toBe(`connect tcp://127.0.0.1:${port}: the per-attempt timeout of 200 ms passed before the connect finished`)
    }).pipe(Effect.provide(NativeConnector.layer)))
})
