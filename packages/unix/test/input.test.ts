// UnixAddress under hostile input: a typed failure (InvalidAddress, or NameTooLong with the
// limit) or exactly the address asked for, counting the kernel's bytes.
import { fc, test } from "@fast-check/vitest"
import { Address } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { UnixAddress, UnixConnector } from "@effect-connect/unix"
import { Connector } from "@effect-connect/core"
import { hostileText, runs } from "../../core/test/arbitraries.js"

describe("UnixAddress: absolute paths of exact bytes only", () => {
  it.effect("relative paths and lone surrogates are InvalidAddress", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(UnixAddress.path("run/app.sock"))).toMatchObject({
        _tag: "InvalidAddress", field: "path", reason: "is relative: a unix socket path must be absolute (the working directory is not part of an address)"
      })
      expect(yield* Effect.flip(UnixAddress.path(null as unknown as string))).toMatchObject({
        _tag: "InvalidAddress", field: "path", reason: "must be a string, got object"
      })
      expect(yield* Effect.flip(UnixAddress.path("/tmp/x\uD800"))).toMatchObject({
        _tag: "InvalidAddress", field: "path", reason: "contains a lone surrogate at index 6"
      })
    }))

  it.effect.skipIf(process.platform !== "linux")("abstract names with a lone surrogate are InvalidAddress", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(UnixAddress.abstract("a\uDC00"))).toMatchObject({
        _tag: "InvalidAddress", field: "name", reason: "contains a lone surrogate at index 1"
      })
    }))

  it.effect("an escaped byte counts as the one byte it is", () =>
    Effect.gen(function*() {
      // Counted as U+FFFD (3 bytes each) this would be 1 + 40 × 3 = 121 bytes; the kernel's are 41.
      const path = "/" + "\uDCFF".repeat(40)
      expect(yield* UnixAddress.path(path)).toEqual(Address.unix(path))
    }))
})

describe("UnixConnector: the long-path detour takes only what a connect takes", () => {
  it.effect.skipIf(process.platform !== "linux")("a long relative path is InvalidAddress, not resolved against the working directory", () =>
    Effect.gen(function*() {
      const relative = "x".repeat(UnixAddress.limit + 10)
      expect(yield* Effect.flip(Connector.connect(Address.unix(relative)))).toMatchObject({
        _tag: "InvalidAddress", field: "path", reason: expect.stringMatching(/^is relative/)
      })
      const surrogate = `/tmp/${"x".repeat(UnixAddress.limit)}\uD800`
      expect(yield* Effect.flip(Connector.connect(Address.unix(surrogate)))).toMatchObject({
        _tag: "InvalidAddress", input: `unix://${surrogate}`, field: "path", reason: `contains a lone surrogate at index ${surrogate.length - 1}`
      })
    }).pipe(Effect.provide(UnixConnector.layerWith({ longPaths: "via-directory" }))))
})

const outcome = <A>(effect: Effect.Effect<A, { readonly _tag: string }>) => {
  const exit = Effect.runSyncExit(effect)
  if (Exit.isSuccess(exit)) return { ok: exit.value }
  const error = Cause.findErrorOption(exit.cause)
  expect(error._tag, Cause.pretty(exit.cause)).toBe("Some")
  return { error: error._tag === "Some" ? error.value : undefined }
}

describe("UnixAddress properties", () => {
  const lengths = fc.integer({ min: 0, max: 120 })
  test.prop([hostileText, lengths], runs)("path: a typed failure or the exact address", (text, pad) => {
    const p = `/${"a".repeat(pad)}${text}`
    const result = outcome(UnixAddress.path(p))
    const bytes = Address.encodeName(p)
    if ("ok" in result) {
      expect(result.ok).toEqual(Address.unix(p))
      expect(bytes!.length).toBeLessThanOrEqual(UnixAddress.limit)
    } else if (result.error?._tag === "NameTooLong") {
      expect(result.error).toMatchObject({ limit: UnixAddress.limit, address: `unix://${p}` })
      expect(bytes!.length).toBeGreaterThanOrEqual(UnixAddress.limit - 1)
    } else {
      expect(result.error).toMatchObject({ _tag: "InvalidAddress", field: "path" })
    }
  })

})

describe.skipIf(process.platform !== "linux")("UnixAddress properties (Linux abstract names)", () => {
  test.prop([hostileText, fc.integer({ min: 0, max: 120 })], runs)("abstract: a typed failure or the exact address", (text, pad) => {
    const name = `${"a".repeat(pad)}${text}`
    const result = outcome(UnixAddress.abstract(name))
    if ("ok" in result) expect(result.ok).toEqual(Address.abstract(name))
    else if (result.error?._tag === "NameTooLong") expect(Address.encodeName(name)!.length).toBeGreaterThanOrEqual(UnixAddress.limit - 1)
    else expect(result.error).toMatchObject({ _tag: "InvalidAddress", field: "name" })
  })
})
