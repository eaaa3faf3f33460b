// The socket factory under hostile targets and dials, as a client's config can hand them over:
// every call rejects with a typed Error that says what was wrong (the connect's InvalidAddress
// for a target's fields) or connects; never a sync throw, never a TypeError, no fd left over.
import { fc, test } from "@fast-check/vitest"
import { Resolver } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { Effect, Layer } from "effect"
import { describe, expect } from "vitest"
import { SocketFactory } from "../src/index.js"
import { hostileValue, runs } from "../../core/test/arbitraries.js"
import { fdCount } from "../../native/test/support.js"

const junk = fc.oneof(hostileValue, fc.anything(), fc.constantFrom(null, undefined, Symbol("t"), Object.create(null), { host: 1 }, { path: null }))
// No name is ever looked up: the resolver knows none.
const connector = NativeConnector.layerWithoutResolver.pipe(Layer.provide(Resolver.layerStatic({})))
const factory = (dial?: unknown) =>
  Effect.runPromise(Effect.provide(SocketFactory.make(dial as SocketFactory.Dial), connector))

// Settles the call: a socket (destroyed at once) or the rejection's tag, option or field.
const settle = async (open: (t: SocketFactory.Target) => Promise<unknown>, target: unknown) => {
  let promise: Promise<unknown>
  try {
    promise = open(target as SocketFactory.Target)
  } catch (e) {
    throw new Error(`threw synchronously: ${String(e)}`)
  }
  return promise.then(
    (socket) => ((socket as { destroy(): void }).destroy(), "connected" as const),
    (e: unknown) => {
      expect(e).toBeInstanceOf(Error)
      expect(e).not.toBeInstanceOf(TypeError)
      return e as Error & { readonly _tag?: string; readonly field?: string; readonly option?: string }
    }
  )
}

describe("SocketFactory under hostile input", () => {
  test.prop([junk], runs)("a target that is none or has junk fields: InvalidAddress naming the field", async (target) => {
    const before = fdCount()
    const outcome = await settle(await factory(), target)
    expect(outcome).not.toBe("connected")
    if (outcome === "connected") return
    expect(outcome._tag, outcome.message).toBe("InvalidAddress")
    expect(["family", "host", "port", "path"]).toContain(outcome.field)
    if (typeof target !== "object" || target === null) expect(outcome.field).toBe("family")
    expect(fdCount(), "fds left over").toBe(before)
  })

  test.prop([junk.filter((d) => d !== undefined && typeof d !== "function")], { numRuns: 100 })("a dial that is no function: InvalidOption dial", async (dial) => {
    const outcome = await settle(await factory(dial), { host: "127.0.0.1", port: 1 })
    expect(outcome).toMatchObject({ _tag: "InvalidOption", option: "dial" })
  })

  test("examples: what it says", async () => {
    const outcome = await settle(await factory(), null)
    expect(outcome).toMatchObject({ _tag: "InvalidAddress", field: "family", reason: "must be a target, { host, port } or { path }, got null" })
  })
})
