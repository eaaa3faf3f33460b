// Properties over whatever a caller (or a config file) can pass: fromErrno and Policy.backoff
// give a typed answer, never a throw, a die or a hang. fast-check prints the seed and the
// shrunk counterexample of a failure; FC_SEED replays one (FC_SEED=123 npx vitest run ...).
import { fc, test } from "@fast-check/vitest"
import { Duration, Effect, Exit, Fiber, Schema } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect } from "vitest"
import { ConnectError, Errno, Policy } from "@effect-connect/core"
import { delays as delaysOf } from "./schedule.js"

const seed = process.env["FC_SEED"] === undefined ? {} : { seed: Number(process.env["FC_SEED"]) }
const runs = (numRuns: number) => ({ numRuns, ...seed })

const platforms = ["linux", "darwin", "freebsd"] as const
const kinds = ["inet", "unix", "datagram", "raw"] as const

const errnoInput = fc.oneof(
  fc.constantFrom(...Errno.names),
  fc.string(),
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "", "E", "EXDEV"),
  fc.integer({ min: -200, max: 300 }),
  fc.integer(),
  fc.double()
)

const context = fc.record({
  kind: fc.constantFrom(...kinds),
  syscall: fc.constantFrom(...ConnectError.Syscall.literals),
  address: fc.oneof(fc.string(), fc.constantFrom("tcp://127.0.0.1:1", "unix:///run/app.sock", "unix-abstract:x", "")),
  platform: fc.constantFrom(...platforms),
  localChosen: fc.oneof(fc.boolean(), fc.record({ host: fc.boolean(), port: fc.boolean() })),
  diagnosis: fc.option(
    fc.record({ component: fc.string(), problem: fc.constantFrom(...ConnectError.PathProblem.literals) }),
    { nil: undefined }
  ),
  errnoName: fc.option(fc.oneof(fc.constantFrom("EXDEV", "ESTALE"), fc.string()), { nil: undefined })
}).map(({ diagnosis, errnoName, ...rest }) => ({
  ...rest,
  ...(diagnosis === undefined ? {} : { diagnosis }),
  ...(errnoName === undefined ? {} : { errnoName })
}))

describe("fromErrno, for any errno and context", () => {
  test.prop([errnoInput, context], runs(2000))("a typed error out, its name kept, never a throw", (errno, ctx) => {
    const error = ConnectError.fromErrno(errno, ctx)
    expect(ConnectError.isErrnoError(error)).toBe(true)
    expect(typeof error.transient).toBe("boolean")
    const known = typeof errno === "number" ? Errno.nameOf(errno, ctx.platform) : Errno.isName(errno) ? errno : undefined
    if (typeof errno === "string") expect(error.errno).toBe(errno)
    else expect(error.errno).toBe(known ?? ctx.errnoName ?? String(errno))
    const message = error.message
    expect(typeof message).toBe("string")
    // a number is never said twice ("failed with 92, errno 92")
    expect(message).not.toMatch(/failed with -?[\d.]+, errno/)
    // it crosses a process boundary
    const decoded = Schema.decodeUnknownSync(ConnectError.Cause)(JSON.parse(JSON.stringify(Schema.encodeSync(ConnectError.Cause)(error))))
    expect((decoded as { readonly _tag: string })._tag).toBe(error._tag)
  })
})

const garbage = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -1, -0.5, 0, "bogus", "-5 millis", "", null, true, [1, -1], {}),
  fc.double(),
  fc.string(),
  fc.anything()
)
const durationish = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }),
  fc.constantFrom("10 millis", "1 second", "2 minutes", Duration.millis(250), Duration.infinity),
  garbage
)
const backoffOptions = fc.record({
  base: durationish,
  cap: durationish,
  factor: fc.oneof(fc.double({ min: 1, max: 10, noNaN: true }), garbage),
  jitter: fc.oneof(fc.constantFrom("none", "full", "equal", "decorrelated"), garbage),
  maxAttempts: fc.oneof(fc.integer({ min: -2, max: 12 }), garbage),
  maxElapsed: durationish
}, { requiredKeys: [] })

const maxDelay = 2 ** 31 - 1
const capOf = (options: Record<string, unknown>): number =>
  options["cap"] === undefined ? maxDelay : Math.min(maxDelay, Duration.toMillis(Duration.fromInputUnsafe(options["cap"] as Duration.Input)))

describe("Policy.backoff, for any options", () => {
  test.prop([backoffOptions], runs(1000))("a typed problem, or delays within [0, cap]; never a throw", (options) => {
    const schedule = Policy.backoff(options as unknown as Policy.BackoffOptions)
    if (schedule.problem !== undefined) {
      expect(schedule.problem).toBeInstanceOf(ConnectError.InvalidOption)
      expect(schedule.problem.option).toMatch(/^backoff\.(base|cap|factor|jitter|maxAttempts|maxElapsed)$/)
      expect(schedule.problem.reason.length).toBeGreaterThan(0)
      return
    }
    const delays = Effect.runSync(delaysOf(schedule, 40))
    const cap = capOf(options)
    for (const millis of delays) {
      expect(Number.isFinite(millis)).toBe(true)
      expect(millis).toBeGreaterThanOrEqual(0)
      expect(millis).toBeLessThanOrEqual(Math.ceil(cap))
    }
    // delaysOf keeps the output of the step that says done: one per attempt at most
    if (typeof options.maxAttempts === "number") expect(delays.length).toBeLessThanOrEqual(options.maxAttempts)
  })

  test.prop([backoffOptions, fc.integer({ min: 1, max: 6 })], runs(200))(
    "retryTransient over it ends: InvalidOption at once, or the last error after maxAttempts, within the delays' sum",
    (generated, maxAttempts) =>
      Effect.gen(function*() {
        const options = { ...generated, maxAttempts } as unknown as Policy.BackoffOptions
        let attempts = 0
        const fiber = yield* Effect.suspend(() => {
          attempts++
          return Effect.fail({ _tag: "ConnectionRefused", transient: true })
        }).pipe(
          Policy.retryTransient(Policy.backoff(options)),
          Effect.exit,
          Effect.forkChild
        )
        // every delay is at most 2^31 - 1 ms: this is past the sum of any five
        yield* TestClock.adjust(Duration.millis(maxDelay * maxAttempts))
        const exit = yield* Fiber.join(fiber)
        expect(Exit.isFailure(exit)).toBe(true)
        const problem = Policy.backoff(options).problem
        if (problem !== undefined) {
          expect(exit).toEqual(Exit.fail(problem))
          expect(attempts).toBe(0)
        } else {
          expect(attempts).toBeLessThanOrEqual(maxAttempts)
        }
      }).pipe(Effect.provide(TestClock.layer()), Effect.runPromise)
  )
})
