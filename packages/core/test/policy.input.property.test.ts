// Properties of the policies under hostile arguments (fast-check's anything plus the values that
// broke them before): each run is a success or a typed InvalidOption that names the argument,
// never a defect and never a throw. A failure prints the seed and the shrunk counterexample.
import { fc, test } from "@fast-check/vitest"
import { Cause, Effect, Exit, Schedule, type Scope } from "effect"
import { describe, expect } from "vitest"
import { Address, ConnectError, Policy } from "@effect-connect/core"
import { hostileValue, runs } from "./arbitraries.js"

const junk = fc.oneof(hostileValue, fc.anything(), fc.constantFrom(undefined, null, NaN, Infinity, -1, "bogus", Symbol("s"), Object.create(null), () => 1))

// A refused attempt: transient, so a retry loop runs its schedule.
const refused = Effect.fail(ConnectError.fromErrno("ECONNREFUSED", { kind: "inet", syscall: "connect", address: "tcp://127.0.0.1:1", platform: "linux" }))

// Runs `make()` (a sync throw is a finding too) and returns the exit, or the InvalidOption's option.
const outcome = async (make: () => Effect.Effect<unknown, unknown, Scope.Scope>): Promise<"ok" | "other" | { option: string; reason: string }> => {
  const exit = await Effect.runPromiseExit(Effect.suspend(make).pipe(Effect.scoped, Effect.timeout("1 second")))
  if (Exit.isSuccess(exit)) return "ok"
  expect(Cause.hasDies(exit.cause), Cause.pretty(exit.cause)).toBe(false)
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "Some" && error.value instanceof ConnectError.InvalidOption) {
    expect(error.value.reason.length).toBeGreaterThan(0)
    return { option: error.value.option, reason: error.value.reason }
  }
  return "other"
}

describe("Policy under hostile arguments", () => {
  test.prop([junk], runs)("retryTransient: a schedule that is none is InvalidOption retryTransient.schedule", async (schedule) => {
    const result = await outcome(() => refused.pipe(Policy.retryTransient(schedule as Schedule.Schedule<unknown>)))
    if (!Schedule.isSchedule(schedule)) expect(result).toMatchObject({ option: "retryTransient.schedule" })
  })

  test.prop([junk], runs)("retryTransient: options that are none are InvalidOption retryTransient.options or .retry", async (options) => {
    const result = await outcome(() => refused.pipe(Policy.retryTransient(Schedule.recurs(2), options as Policy.RetryOptions)))
    if (options === undefined) expect(result).toBe("other")
    else if (typeof options !== "object" || options === null) expect(result).toMatchObject({ option: "retryTransient.options" })
    const retry: unknown = options === undefined || options === null || typeof options !== "object" ? undefined : (options as { retry?: unknown }).retry
    if (typeof options === "object" && options !== null && retry !== undefined && (typeof retry !== "object" || retry === null)) {
      expect(result).toMatchObject({ option: "retryTransient.retry" })
    }
  })

  const fields = fc.constantFrom("options", "base", "cap", "factor", "jitter", "maxAttempts", "maxElapsed")
  test.prop([fields, junk], runs)("backoff: junk in any field is InvalidOption backoff.<field>, or a schedule that runs", async (field, value) => {
    const options = field === "options" ? value : { base: 1, maxAttempts: 3, [field]: value }
    // One attempt that succeeds: the options are checked before it, and no delay is waited out.
    const result = await outcome(() => Effect.void.pipe(Policy.retryTransient(Policy.backoff(options as Policy.BackoffOptions))))
    // An object as options is read field by field: its own base (or another field) is named.
    if (typeof result === "object") expect(result.option).toMatch(field === "options" ? /^backoff\./ : `backoff.${field}`)
    if (field === "options" && (typeof value !== "object" || value === null)) expect(result).toMatchObject({ option: "backoff.options" })
  })

  test.prop([junk, fc.oneof(junk, fc.string())], runs)("deadline: a bad duration or label is InvalidOption deadline or deadline.label", async (duration, label) => {
    const result = await outcome(() => Effect.void.pipe(Policy.deadline(duration as number, label as string)))
    if (typeof result === "object") expect(["deadline", "deadline.label"]).toContain(result.option)
    if (label !== undefined && typeof label !== "string") expect(result).toMatchObject({ option: expect.stringMatching(/^deadline/) })
  })

  const raceArgs = fc.record({
    candidates: fc.oneof(junk, fc.constant([1, 2])),
    // A function is the caller's own code: what it throws or returns that is no Effect is
    // InvalidOption race.attempt (the next property), once it is called.
    attempt: fc.oneof(junk.filter((a) => typeof a !== "function"), fc.constant((n: number) => Effect.fail(n))),
    options: fc.oneof(junk, fc.record({ delay: fc.oneof(junk, fc.constant(undefined), fc.constant(0)), describe: fc.oneof(junk, fc.constant(String)) }))
  })
  test.prop([raceArgs], runs)("race: bad arguments are InvalidOption race.<argument> before any attempt; good ones race", async ({ attempt, candidates, options }) => {
    let attempts = 0
    const counted = typeof attempt === "function" ? (c: unknown) => (attempts++, (attempt as (c: unknown) => Effect.Effect<unknown, unknown>)(c)) : attempt
    const result = await outcome(() =>
      Policy.race(candidates as [number], counted as (n: number) => Effect.Effect<unknown, unknown>, options as Policy.RaceOptions<number>)
    )
    if (typeof result === "object") {
      expect(result.option).toMatch(/^race\.(candidates|attempt|options|describe|delay)$/)
      expect(attempts).toBe(0)
    } else {
      expect(result).toBe("other")
    }
  })

  const throwers = fc.constantFrom("describe", "attempt", "options")
  test.prop([throwers, fc.oneof(junk, fc.constant(new Error("boom"))), fc.integer({ min: 1, max: 5 }), fc.nat()], runs)(
    "race: caller code that throws (describe, attempt, a getter on options) is InvalidOption race.<argument>, never a defect",
    async (where, thrown, n, k) => {
      const bad = k % n
      const named = (c: number) => {
        if (c === bad) throw thrown
        return String(c)
      }
      const options = where === "options"
        ? Object.defineProperty({}, "describe", { get: () => { throw thrown } })
        : { delay: 0, describe: where === "describe" ? named : String }
      const attempt = (c: number) => Effect.fail(where === "attempt" ? named(c) : c)
      const candidates = Array.from({ length: n }, (_, i) => i) as unknown as [number]
      const result = await outcome(() => Policy.race(candidates, attempt, options as Policy.RaceOptions<number>))
      expect(result).toMatchObject({ option: `race.${where}`, reason: expect.stringMatching(/^threw /) })
    }
  )

  test("examples: what each says", async () => {
    expect(await outcome(() => refused.pipe(Policy.retryTransient(null as unknown as Schedule.Schedule<unknown>)))).toEqual({
      option: "retryTransient.schedule",
      reason: "must be a Schedule (Policy.backoff, or one of effect's), got null"
    })
    for (const [delay, reason] of [
      ["bogus", `must be a duration such as "2 seconds" or a number of milliseconds, got "bogus"`],
      [-1, "must not be negative, got -1"],
      [NaN, "must be a duration, got NaN"],
      [null, `must be a duration such as "2 seconds" or a number of milliseconds, got null`]
    ] as const) {
      expect(await outcome(() => Policy.race([1, 2], () => Effect.fail(1), { delay: delay as number, describe: String }))).toEqual({ option: "race.delay", reason })
    }
    expect(await outcome(() => Effect.void.pipe(Policy.deadline("1 second", 5 as unknown as string)))).toEqual({
      option: "deadline.label",
      reason: "must be a string, got 5"
    })
  })
})

describe("Address under values no template can print", () => {
  test.prop([fc.constantFrom(Symbol("h"), Object.create(null), null, {}), fc.constantFrom(Symbol("p"), Object.create(null), "80", null)])(
    "validate: InvalidAddress naming the field, never a defect",
    (host, port) => {
      const exit = Effect.runSyncExit(Address.validate(Address.tcp(host as string, port as number)))
      expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause)).toMatchObject({ _tag: "Some", value: { _tag: "InvalidAddress", field: "host" } })
      const portExit = Effect.runSyncExit(Address.validate(Address.tcp("127.0.0.1", port as number)))
      expect(Exit.isFailure(portExit) && Cause.findErrorOption(portExit.cause)).toMatchObject({ _tag: "Some", value: { _tag: "InvalidAddress", field: "port" } })
    }
  )
})
