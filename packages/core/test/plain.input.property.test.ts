// Properties of core's plain (non-Effect) functions under hostile arguments: each call returns a
// value its type allows, or throws an Error that names the function and the argument; never the
// TypeError of a property read ("Cannot read properties of null") nor Schema's ParseError. A
// getter that throws is the caller's own code: its Error passes through as it is.
import { fc, test } from "@fast-check/vitest"
import { Cause, Effect, Exit } from "effect"
import { describe, expect } from "vitest"
import { Address, ConnectError, Connector, Errno, Resolver, ScriptedConnector } from "@effect-connect/core"
import { hostileValue, runs } from "./arbitraries.js"

/** Its own Error, thrown by the getter of the Proxy below. */
export const trap = new Error("the caller's getter threw")
const throwing = new Proxy({}, { get: () => { throw trap } })

/** fast-check's anything, the hostile values, and the shapes that broke plain functions. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  hostileValue,
  fc.anything(),
  fc.constantFrom(null, undefined, NaN, -1, 1.5, 2 ** 53, "", "\u0000", "x".repeat(100_000), Symbol("s"), Object.create(null), throwing, [], [null], {})
)

// What calling `f` did: its value, or the message of the Error it threw (checked to name `fn`).
const call = (fn: string, f: () => unknown): { value: unknown } | { thrown: string } => {
  try {
    return { value: f() }
  } catch (e) {
    if (e === trap) return { thrown: "trap" }
    expect(e).toBeInstanceOf(Error)
    const message = (e as Error).message
    expect(e, message).not.toBeInstanceOf(TypeError)
    expect(message).toMatch(new RegExp(`^${fn.replace(".", "\\.")}: .+ must .*, got `))
    return { thrown: message }
  }
}

const context = (override: Record<string, unknown>) => ({ kind: "inet", syscall: "connect", address: "tcp://127.0.0.1:1", platform: "linux", ...override })

describe("core's plain functions under hostile arguments", () => {
  test.prop([junk, junk], runs)("Errno.codeOf: the number, or an Error naming name or platform", (name, platform) => {
    const r = call("Errno.codeOf", () => Errno.codeOf(name as Errno.Name, platform as Errno.Platform))
    if ("value" in r) expect(typeof r.value).toBe("number")
    expect(call("Errno.codeOf", () => Errno.codeOf("EINTR", platform as Errno.Platform))).toEqual(
      Errno.isPlatform(platform) ? { value: Errno.table.EINTR[platform] } : expect.objectContaining({ thrown: expect.stringMatching(/platform must be|trap/) })
    )
  })

  test.prop([junk], runs)("Errno.familyOf, Errno.isName, Address.ipVersion, Address.encodeName: a value, never a throw", (u) => {
    expect(["ip", "unix", "abstract", undefined]).toContain(Errno.familyOf(u as string))
    expect(typeof Errno.isName(u as string)).toBe("boolean")
    if (u !== throwing) {
      expect(Address.ipVersion(u as Address.Tcp)).toBeUndefined()
      expect([4, 6, undefined]).toContain(Address.ipVersion(Address.tcp(u as string, 1)))
      expect(typeof u === "string" || Address.encodeName(u as string) === undefined).toBe(true)
    }
  })

  test.prop([junk], runs)("Address.decodeName: text, or an Error naming bytes", (bytes) => {
    const r = call("Address.decodeName", () => Address.decodeName(bytes as Uint8Array))
    expect("value" in r).toBe(bytes instanceof Uint8Array)
  })

  test.prop([junk, fc.constantFrom("shape", "entry")], runs)("Resolver.interleave: a reordering, or an Error naming addresses", (u, where) => {
    const input = where === "shape" ? u : [{ address: "::1", family: 6 }, u, { address: "127.0.0.1", family: 4 }]
    const r = call("Resolver.interleave", () => Resolver.interleave(input as [Resolver.Resolved]))
    // The same entries (by identity), in another order.
    if ("value" in r) {
      const out = r.value as Array<unknown>
      expect(out.length).toBe((input as Array<unknown>).length)
      expect(out.every((a) => (input as Array<unknown>).includes(a))).toBe(true)
    }
    if (where === "entry" && u !== throwing) expect("value" in r).toBe(true)
  })

  test.prop([junk, fc.constantFrom("errno", "context", "address", "platform", "kind", "syscall")], runs)(
    "ConnectError.fromErrno: an error, or an Error naming the argument (never a ParseError)",
    (u, field) => {
      const r = call("ConnectError.fromErrno", () =>
        field === "errno" ? ConnectError.fromErrno(u as string, context({}) as ConnectError.ErrnoContext<"inet">)
        : field === "context" ? ConnectError.fromErrno("ECONNREFUSED", u as ConnectError.ErrnoContext<"inet">)
        : ConnectError.fromErrno("ECONNREFUSED", context({ [field]: u }) as ConnectError.ErrnoContext<"inet">))
      if ("value" in r) expect(ConnectError.isConnectError(r.value)).toBe(true)
      if (field === "address" && typeof u !== "string") expect(r).toEqual({ thrown: expect.stringMatching(/^ConnectError\.fromErrno: context\.address must be/) })
    }
  )

  test.prop([junk, fc.constantFrom("address", "platform", "details")], runs)(
    "ConnectError.deadline: a TimedOut, or an Error naming the argument",
    (u, field) => {
      const r = call("ConnectError.deadline", () =>
        field === "address" ? ConnectError.deadline(u as string, "linux")
        : field === "platform" ? ConnectError.deadline("tcp://127.0.0.1:1", u as Errno.Platform)
        : ConnectError.deadline("tcp://127.0.0.1:1", "linux", u as ConnectError.DeadlineDetails))
      if ("value" in r) expect(r.value).toMatchObject({ _tag: "TimedOut", source: "deadline" })
      if (field === "address" && typeof u !== "string") expect(r).toEqual({ thrown: expect.stringMatching(/^ConnectError\.deadline: address must be/) })
    }
  )

  test("examples: what each says", () => {
    expect(call("Errno.codeOf", () => Errno.codeOf(null as unknown as Errno.Name, "linux"))).toEqual({ thrown: "Errno.codeOf: name must be an errno name of the table, got null" })
    expect(call("Errno.codeOf", () => Errno.codeOf("EINTR", "win32" as Errno.Platform))).toEqual({ thrown: `Errno.codeOf: platform must be linux, darwin or freebsd, got "win32"` })
    expect(Errno.familyOf(null as unknown as string)).toBeUndefined()
    expect(Address.ipVersion(null as unknown as Address.Tcp)).toBeUndefined()
    expect(Address.encodeName(5 as unknown as string)).toBeUndefined()
    expect(call("Address.decodeName", () => Address.decodeName(null as unknown as Uint8Array))).toEqual({ thrown: "Address.decodeName: bytes must be a Uint8Array, got null" })
    expect(call("Resolver.interleave", () => Resolver.interleave([] as unknown as [Resolver.Resolved]))).toEqual({ thrown: "Resolver.interleave: addresses must be a non-empty array of { address, family }, got object" })
    expect(call("ConnectError.fromErrno", () => ConnectError.fromErrno("ECONNREFUSED", context({ address: null }) as ConnectError.ErrnoContext<"inet">))).toEqual({
      thrown: "ConnectError.fromErrno: context.address must be a string (Address.format's form), got null"
    })
    expect(call("ConnectError.deadline", () => ConnectError.deadline(7 as unknown as string, "linux"))).toEqual({
      thrown: "ConnectError.deadline: address must be a string (Address.format's form), got 7"
    })
  })
})

describe("ScriptedConnector under hostile scripts", () => {
  test.prop([junk], runs)("fail and succeed: a step, or an Error naming after (or errno) at once", (after) => {
    for (const [fn, make] of [["ScriptedConnector.fail", () => ScriptedConnector.fail("ECONNREFUSED", after as number)], ["ScriptedConnector.succeed", () => ScriptedConnector.succeed(after as number)]] as const) {
      const r = call(fn, make)
      if ("thrown" in r && r.thrown !== "trap") expect(r.thrown).toMatch(new RegExp(`^${fn.replace(".", "\\.")}: after must`))
    }
    const r = call("ScriptedConnector.fail", () => ScriptedConnector.fail(after as Errno.Name))
    expect("value" in r).toBe(typeof after === "string")
  })

  const connect = (layer: () => ReturnType<typeof ScriptedConnector.layer>, address: Address.Tcp | Address.Unix = Address.tcp("127.0.0.1", 1)) =>
    Effect.runPromiseExit(Effect.scoped(Effect.suspend(() => Connector.connect(address)).pipe(Effect.provide(layer()))))

  test.prop([junk, fc.constantFrom("script", "steps", "step")], runs)(
    "layer: a junk script, steps or step is an Error naming the entry when the layer is built; never a defect",
    async (u, where) => {
      const script = where === "script" ? u : where === "steps" ? { "tcp://127.0.0.1:1": u } : { "tcp://127.0.0.1:1": [ScriptedConnector.succeed(), u] }
      const r = call("ScriptedConnector.layer", () => ScriptedConnector.layer(script as ScriptedConnector.Script))
      if ("value" in r) {
        const exit = await connect(() => r.value as ReturnType<typeof ScriptedConnector.layer>)
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toBe(false)
      }
    }
  )

  test("an address with no script is InvalidAddress, not a defect", async () => {
    const exit = await connect(() => ScriptedConnector.layer({ "tcp://127.0.0.1:2": [ScriptedConnector.succeed()] }))
    expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause)).toMatchObject({
      _tag: "Some",
      value: {
        _tag: "InvalidAddress",
        input: "tcp://127.0.0.1:1",
        field: "host",
        reason: `has no script: ScriptedConnector.layer's script has entries for "tcp://127.0.0.1:2"`
      }
    })
    const proto = await connect(() => ScriptedConnector.layer({}), Address.unix("/__proto__"))
    expect(Exit.isFailure(proto) && Cause.findErrorOption(proto.cause)).toMatchObject({ _tag: "Some", value: { _tag: "InvalidAddress", field: "path" } })
  })

  test("examples: what it says", () => {
    expect(call("ScriptedConnector.succeed", () => ScriptedConnector.succeed("soon" as "1 second"))).toEqual({
      thrown: `ScriptedConnector.succeed: after must be a duration such as "2 seconds" or a number of milliseconds, got "soon"`
    })
    expect(call("ScriptedConnector.layer", () => ScriptedConnector.layer({ "tcp://127.0.0.1:1": [] }))).toEqual({
      thrown: `ScriptedConnector.layer: script["tcp://127.0.0.1:1"] must be a non-empty array of steps, got object`
    })
    expect(call("Resolver.layerStatic", () => Resolver.layerStatic(null as unknown as Record<string, Array<string>>))).toEqual({
      thrown: "Resolver.layerStatic: hosts must be an object from host names to arrays of IP literals, got null"
    })
  })
})
