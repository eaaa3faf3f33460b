// UnixAddress.abstract where abstract names do not exist, simulated on any platform: the refusal
// is InvalidAddress for any name, even one a template string cannot show (a symbol).
import { Effect } from "effect"
import { expect, test, vi } from "vitest"

vi.mock("@effect-connect/core", async (original) => {
  const core = await original<typeof import("@effect-connect/core")>()
  return { ...core, Errno: { ...core.Errno, currentPlatform: "darwin" } }
})

test("abstract off Linux: InvalidAddress family for any name", async () => {
  const { UnixAddress } = await import("@effect-connect/unix")
  for (const [name, input] of [["app", "unix-abstract:app"], [Symbol("t"), "unix-abstract:symbol"], [null, "unix-abstract:null"]] as const) {
    expect(await Effect.runPromise(Effect.flip(UnixAddress.abstract(name as string)))).toMatchObject({
      _tag: "InvalidAddress", input, field: "family", reason: "abstract names are Linux only"
    })
  }
})
