import { Address } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ask, daemon } from "../src/client.js"

describe("line-client", () => {
  it.live("asks localhost, retried through the refusals until the daemon is up", () =>
    Effect.gen(function*() {
      const { port } = yield* daemon(200)
      expect(yield* ask(Address.tcp("localhost", port), "PING")).toBe("PONG")
      expect(yield* ask(Address.tcp("127.0.0.1", port), "HELLO")).toBe("ERR")
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("a permanent error is not retried: it comes back at once, with its tag", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(ask(Address.tcp("127.0.0.1", 0), "PING"))).toMatchObject({ _tag: "InvalidAddress", field: "port" })
    }).pipe(Effect.provide(NativeConnector.layer)))
})
