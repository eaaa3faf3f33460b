/**
 * The policies around a connect, each one line at the call site: backoff schedules, a retry that
 * never retries a permanent error, an overall deadline, and RFC 8305 racing of addresses.
 *
 * @since 0.1.0
 */
import {
  Cause,
  Clock,
  Data,
  Deferred,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  FiberRef,
  Option,
  Random,
  Schedule,
  ScheduleDecision,
  ScheduleInterval,
  Scope
} from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Address from "./Address.js"
import * as ConnectError from "./ConnectError.js"
import * as Errno from "./Errno.js"
import * as Attempts from "./internal/attempts.js"
import * as Options from "./internal/options.js"

/**
 * How a backoff spreads its delays. `none` is exact exponential; the others are the three
 * strategies of "Exponential Backoff And Jitter" (AWS architecture blog, 2015):
 * - `full`: uniform in [0, d]
 * - `equal`: d/2 + uniform in [0, d/2]
 * - `decorrelated`: uniform in [base, 3 × previous delay], capped
 *
 * @since 0.1.0
 * @category models
 */
export type Jitter = "none" | "full" | "equal" | "decorrelated"

/**
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** The first delay: finite, not negative. */
  readonly base: Duration.DurationInput
  /** No delay is longer than this. Default (and at most): 2^31 - 1 ms, the longest timer a runtime keeps. */
  readonly cap?: Duration.DurationInput
  /** Growth per attempt: a finite number above 1. Default 2. */
  readonly factor?: number
  /** Default `none`. */
  readonly jitter?: Jitter
  /** Attempts in all, the first one included: a whole number, at least 1. */
  readonly maxAttempts?: number
  /** Stop retrying once this much time has passed since the first retry was scheduled. */
  readonly maxElapsed?: Duration.DurationInput
}

/**
 * A backoff schedule, and why its options are unusable if they are: then it stops at once, and
 * `retryTransient` fails with `problem` before any attempt.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backoff extends Schedule.Schedule<Duration.Duration, unknown> {
  readonly problem: ConnectError.InvalidOption | undefined
}

const jitters: ReadonlyArray<string> = ["none", "full", "equal", "decorrelated"] satisfies ReadonlyArray<Jitter>

// The longest delay a JavaScript timer keeps (setTimeout's limit).
const maxDelay = 2 ** 31 - 1

interface Checked {
  readonly base: number
  readonly cap: number
  readonly factor: number
  readonly jitter: Jitter
  readonly maxAttempts: number | undefined
  readonly maxElapsed: Duration.Duration | undefined
}

// Options come from configuration as often as from code: everything is checked, nothing thrown.
const check = (options: BackoffOptions): Checked | ConnectError.InvalidOption => {
  const invalid = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `backoff.${option}`, reason })
  if (typeof options !== "object" || options === null) return invalid("options", "must be an object with at least base")
  const base = Options.duration(options.base, false)
  if (typeof base === "string") return invalid("base", base)
  const cap = options.cap === undefined ? Duration.infinity : Options.duration(options.cap, true)
  if (typeof cap === "string") return invalid("cap", cap)
  const factor = options.factor ?? 2
  if (typeof factor !== "number" || !Number.isFinite(factor) || factor <= 1) {
    return invalid("factor", `must be a finite number above 1, got ${Options.shown(factor)}`)
  }
  const jitter = options.jitter ?? "none"
  if (!jitters.includes(jitter)) return invalid("jitter", `must be one of ${jitters.join(", ")}, got ${Options.shown(jitter)}`)
  const maxAttempts = options.maxAttempts
  if (maxAttempts !== undefined && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1)) {
    return invalid("maxAttempts", `must be a whole number, at least 1, got ${Options.shown(maxAttempts)}`)
  }
  const maxElapsed = options.maxElapsed === undefined ? undefined : Options.duration(options.maxElapsed, true)
  if (typeof maxElapsed === "string") return invalid("maxElapsed", maxElapsed)
  return {
    base: Duration.toMillis(base),
    cap: Math.min(maxDelay, Duration.toMillis(cap)),
    factor,
    jitter,
    maxAttempts,
    maxElapsed
  }
}

const exponential = (options: Checked): Schedule.Schedule<Duration.Duration, unknown> => {
  const { base, cap, factor, jitter } = options
  const uniform = (low: number, high: number) =>
    Effect.map(Random.next, (r) => low + r * (high - low))
  const delayOf = (n: number, previous: number): Effect.Effect<number> => {
    // base 0 stays 0 (0 × Infinity would be NaN once factor^n overflows)
    const exact = base === 0 ? 0 : Math.min(cap, base * Math.pow(factor, n))
    switch (jitter) {
      case "none":
        return Effect.succeed(exact)
      case "full":
        return uniform(0, exact)
      case "equal":
        return uniform(exact / 2, exact)
      case "decorrelated":
        return Effect.map(uniform(base, Math.max(base, previous * 3)), (d) => Math.min(cap, d))
    }
  }
  let schedule: Schedule.Schedule<Duration.Duration, unknown> = Schedule.makeWithState(
    { n: 0, previous: base },
    (now, _input: unknown, state) =>
      Effect.map(delayOf(state.n, state.previous), (millis) => {
        const delay = Math.round(millis)
        return [
          { n: state.n + 1, previous: delay },
          Duration.millis(delay),
          ScheduleDecision.continueWith(ScheduleInterval.after(now + delay))
        ] as const
      })
  )
  if (options.maxAttempts !== undefined) {
    schedule = Schedule.zipLeft(schedule, Schedule.recurs(options.maxAttempts - 1))
  }
  if (options.maxElapsed !== undefined) {
    schedule = Schedule.upTo(schedule, options.maxElapsed)
  }
  return schedule
}

/**
 * An exponential backoff: outputs each delay it waits, every one within [0, cap]. Options that
 * make no sense (a `jitter` it does not know, a negative or infinite `base`, a `factor` of 1 or
 * less, a fractional `maxAttempts`) never throw here: the schedule stops at once and carries the
 * problem, and `retryTransient` fails with it.
 *
 * @since 0.1.0
 * @category schedules
 */
export const backoff = (options: BackoffOptions): Backoff => {
  const checked = check(options)
  return checked instanceof ConnectError.InvalidOption
    ? Object.assign(Schedule.as(Schedule.stop, Duration.zero), { problem: checked })
    : Object.assign(exponential(checked), { problem: undefined })
}

/**
 * The attempt number (1, 2, ...) of the innermost `retryTransient`, for spans and logs.
 *
 * @since 0.1.0
 * @category fiber refs
 */
export const currentAttempt: FiberRef.FiberRef<number> = FiberRef.unsafeMake(1)

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /**
   * Per-tag overrides of the transient flag: `{ NotFound: false }` gives up at once on a missing
   * unix socket file; `{ HostNotFound: true }` waits for a name to be registered.
   */
  readonly retry?: Partial<Record<ConnectError.ConnectError["_tag"], boolean>>
}

/**
 * Retries transient errors on `schedule` and lets every other error through at once. When it
 * gives up (the schedule is spent, or a later attempt failed permanently), the last error comes
 * out re-created with `attempts` set (same class and tag, so `catchTag` matches, and a message
 * that says "after N attempts"); the type stays the full union, so the caller handles permanent
 * tags and the last transient one alike. A `backoff` whose options are unusable fails with its
 * `InvalidOption` before any attempt; so does a `schedule` or `options` that is none at all (from
 * an untyped caller), as `retryTransient.schedule` or `retryTransient.options`.
 *
 * With a tracer installed, the whole loop is one span, `effect-connect.retry`, with its
 * `retry.attempts` and `retry.outcome` (`ok`, the error's tag, or `interrupted`).
 *
 * @since 0.1.0
 * @category retry
 */
export const retryTransient: {
  (schedule: Backoff, options?: RetryOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ConnectError.InvalidOption, R>
  <Out, R2>(schedule: Schedule.Schedule<Out, unknown, R2>, options?: RetryOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E, R | R2>
} = (<Out, R2>(schedule: Schedule.Schedule<Out, unknown, R2>, options: RetryOptions = {}) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConnectError.InvalidOption, R | R2> =>
  Effect.withFiberRuntime((fiber) => {
    const problem = retryProblem(schedule, options)
    if (problem !== undefined) return Effect.fail(problem)
    const journal = fiber.getFiberRef(Attempts.current)
    let attempt = 0
    const once = Effect.suspend(() => {
      attempt++
      const run = Effect.locally(self, currentAttempt, attempt)
      if (journal === undefined) return run
      journal.tries++
      return Effect.tapError(run, (e) => Effect.sync(() => Attempts.failed(journal, e)))
    })
    const loop = Effect.retry(once, { schedule, while: (e: E) => shouldRetry(e, options) }).pipe(
      Effect.mapError((e) => attempt > 1 ? ConnectError.withAttempts(e, attempt) : e)
    )
    return fiber.currentTracer === Attempts.nativeTracer ? loop : loop.pipe(
      Effect.onExit((exit) =>
        Effect.annotateCurrentSpan({ "retry.attempts": attempt, "retry.outcome": outcomeOf(exit) })
      ),
      Effect.withSpan("effect-connect.retry", { captureStackTrace: false })
    )
  })) as typeof retryTransient

// A backoff's own problem, or arguments that are no schedule or no options at all (from an
// untyped caller: a typed one cannot pass them, so the plain-schedule overload keeps its type).
const retryProblem = (schedule: unknown, options: unknown): ConnectError.InvalidOption | undefined => {
  if (!Schedule.isSchedule(schedule)) {
    return new ConnectError.InvalidOption({
      option: "retryTransient.schedule",
      reason: `must be a Schedule (Policy.backoff, or one of effect's), got ${Options.shown(schedule)}`
    })
  }
  if (typeof options !== "object" || options === null) {
    return new ConnectError.InvalidOption({ option: "retryTransient.options", reason: `must be an object, got ${Options.shown(options)}` })
  }
  const retry: unknown = (options as RetryOptions).retry
  if (retry !== undefined && (typeof retry !== "object" || retry === null)) {
    return new ConnectError.InvalidOption({ option: "retryTransient.retry", reason: `must be an object of tags to booleans, got ${Options.shown(retry)}` })
  }
  return (schedule as { readonly problem?: ConnectError.InvalidOption }).problem
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const error = Cause.failureOption(exit.cause)
  if (Option.isSome(error)) {
    const tag = (error.value as { readonly _tag?: unknown } | null | undefined)?._tag
    return typeof tag === "string" ? tag : "error"
  }
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "defect"
}

const shouldRetry = (e: unknown, options: RetryOptions): boolean => {
  const tag = (e as { readonly _tag?: unknown } | null | undefined)?._tag
  const override = typeof tag === "string" && Object.prototype.hasOwnProperty.call(options.retry ?? {}, tag)
    ? options.retry?.[tag as ConnectError.ConnectError["_tag"]]
    : undefined
  return override ?? ConnectError.isTransient(e)
}

/**
 * An overall deadline over everything `self` does (all its retries included). When it passes,
 * `self` is interrupted (closing any socket it holds) and the result is `TimedOut` with
 * `source: "deadline"`, `scope: "overall"`, the time it waited (`elapsed`), the attempts that
 * had started, and the last failed attempt's own error as `cause` (with its diagnosis), read from
 * the retry loop and the Connector under it. Its message says what happened: "gave up after
 * 1.0 s and 14 attempts; the last failed with ECONNREFUSED: ... (nothing is listening on that
 * port)". `label` names the target in the message; by default, the last attempt's address.
 *
 * @since 0.1.0
 * @category timeouts
 */
export const deadline = (duration: Duration.DurationInput, label?: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConnectError.TimedOut | ConnectError.InvalidOption, R> =>
  Effect.suspend((): Effect.Effect<A, E | ConnectError.TimedOut | ConnectError.InvalidOption, R> => {
    const limit = Options.duration(duration, true)
    if (typeof limit === "string") return Effect.fail(new ConnectError.InvalidOption({ option: "deadline", reason: limit }))
    if (label !== undefined && typeof label !== "string") {
      return Effect.fail(new ConnectError.InvalidOption({ option: "deadline.label", reason: `must be a string, got ${Options.shown(label)}` }))
    }
    const journal = Attempts.journal()
    return Effect.flatMap(Clock.currentTimeMillis, (start) =>
      Effect.flatten(Effect.timeoutTo(Effect.locally(self, Attempts.current, journal), {
        duration: limit,
        onSuccess: (a): Effect.Effect<A, ConnectError.TimedOut> => Effect.succeed(a),
        onTimeout: () => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(passed(journal, now - start, label)))
      })))
  })

const passed = (journal: Attempts.Journal, elapsed: number, label: string | undefined): ConnectError.TimedOut => {
  // A connect's attempts are its dials; a loop over something else counts its own tries.
  const dials = journal.dials > 0
  const attempts = dials ? journal.dials : journal.tries
  const cause = journal.failed ? ConnectError.withAttempts(journal.last, dials ? journal.lastDials : journal.lastTries) : undefined
  const address = label ?? (ConnectError.isErrnoError(cause) ? cause.address
    : journal.target === undefined ? "" : Address.format(journal.target))
  return ConnectError.deadline(address, Errno.currentPlatform, { scope: "overall", elapsed, attempts, cause })
}

/**
 * One failed attempt of a race.
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptFailure<E> {
  readonly address: string
  readonly error: E
  /** When the attempt started, from the start of the race. */
  readonly startedAfter: Duration.Duration
  /** How long the attempt ran. */
  readonly elapsed: Duration.Duration
}

/**
 * Every attempt of a race failed: the attempts in the order they started, each with its typed
 * error. Transient when any attempt's error was.
 *
 * @since 0.1.0
 * @category errors
 */
export class AllAttemptsFailed<E> extends Data.TaggedError("AllAttemptsFailed")<{
  readonly attempts: NonEmptyReadonlyArray<AttemptFailure<E>>
}> {
  get transient(): boolean {
    return this.attempts.some((a) => ConnectError.isTransient(a.error))
  }
  override get message(): string {
    return `all ${this.attempts.length} attempts failed: ` + this.attempts.map((a) =>
      `${a.address} after ${Duration.format(a.elapsed)}: ${said(a.error)}`
    ).join("; ")
  }
}

// An attempt's error in a message: whatever an attempt failed with (null, a symbol, an object
// without toString) is said without throwing.
const said = (e: unknown): string => {
  const message: unknown = typeof e === "object" && e !== null ? (e as { readonly message?: unknown }).message : undefined
  return typeof message === "string" ? message : typeof e === "string" ? e : Options.shown(e)
}

/**
 * @since 0.1.0
 * @category models
 */
export interface RaceOptions<X> {
  /** RFC 8305's Connection Attempt Delay. Default 250 ms. */
  readonly delay?: Duration.DurationInput
  /** How a candidate is named in `AllAttemptsFailed`. */
  readonly describe: (candidate: X) => string
}

const defaultDelay = Duration.millis(250)

// The delay between starts, or what is wrong with the arguments (nothing has started then).
const raceDelay = (candidates: unknown, attempt: unknown, options: unknown): Duration.Duration | ConnectError.InvalidOption => {
  const invalid = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `race.${option}`, reason })
  if (!Array.isArray(candidates) || candidates.length === 0) {
    return invalid("candidates", `must be a non-empty array, got ${Array.isArray(candidates) ? "an empty one" : Options.shown(candidates)}`)
  }
  if (typeof attempt !== "function") return invalid("attempt", `must be a function, got ${Options.shown(attempt)}`)
  if (typeof options !== "object" || options === null) return invalid("options", `must be an object with describe, got ${Options.shown(options)}`)
  const { delay, describe } = options as RaceOptions<unknown>
  if (typeof describe !== "function") return invalid("describe", `must be a function, got ${Options.shown(describe)}`)
  if (delay === undefined) return defaultDelay
  const checked = Options.duration(delay, true)
  return typeof checked === "string" ? invalid("delay", checked) : checked
}

/**
 * RFC 8305 racing: attempt the candidates in order, starting the next one when the delay has
 * passed or the previous attempt failed, whichever comes first. The first success wins; every
 * other attempt is interrupted and whatever it acquired (in its own scope) is released, even one
 * that succeeded a moment too late. When all fail, `AllAttemptsFailed` keeps each error.
 * Arguments it cannot work with (no candidates, a negative or NaN `delay`, ...) fail with
 * `InvalidOption` (`race.delay`, ...) before any attempt.
 *
 * @since 0.1.0
 * @category racing
 */
export const race = <X, A, E, R>(
  candidates: NonEmptyReadonlyArray<X>,
  attempt: (candidate: X) => Effect.Effect<A, E, R | Scope.Scope>,
  options: RaceOptions<X>
): Effect.Effect<A, AllAttemptsFailed<E> | ConnectError.InvalidOption, R | Scope.Scope> =>
  Effect.gen(function*() {
    const delay = raceDelay(candidates, attempt, options)
    if (delay instanceof ConnectError.InvalidOption) return yield* delay
    const parent = yield* Effect.scope
    const start = yield* Clock.currentTimeMillis
    const scopes: Array<Scope.CloseableScope> = []
    const failures: Array<AttemptFailure<E> & { readonly index: number }> = []

    const one = (index: number): Effect.Effect<readonly [A, number], void, R> =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
        scopes[index] = scope
        const startedAt = yield* Clock.currentTimeMillis
        return yield* Scope.extend(attempt(candidates[index]!), scope).pipe(
          Effect.map((a) => [a, index] as const),
          Effect.catchAll((error) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => {
              failures.push({
                index,
                address: options.describe(candidates[index]!),
                error,
                startedAfter: Duration.millis(startedAt - start),
                elapsed: Duration.millis(now - startedAt)
              })
              return Effect.fail(undefined)
            })
          )
        )
      })

    const from = (index: number): Effect.Effect<readonly [A, number], void, R> => {
      if (index === candidates.length - 1) return one(index)
      return Effect.flatMap(Deferred.make<void>(), (failed) =>
        Effect.race(
          Effect.tapError(one(index), () => Deferred.succeed(failed, undefined)),
          Effect.race(Effect.sleep(delay), Deferred.await(failed)).pipe(Effect.zipRight(from(index + 1)))
        ))
    }

    const closeAllBut = (winner: number) =>
      Effect.forEach(scopes.filter((_, i) => i !== winner), (scope) => Scope.close(scope, Exit.void), { discard: true })

    const [value] = yield* from(0).pipe(
      Effect.onExit((exit) => closeAllBut(Exit.isSuccess(exit) ? exit.value[1] : -1)),
      Effect.catchAll(() =>
        Effect.fail(
          new AllAttemptsFailed({
            attempts: failures.sort((a, b) => a.index - b.index).map(({ index: _, ...rest }) => rest) as unknown as
              NonEmptyReadonlyArray<AttemptFailure<E>>
          })
        )
      )
    )
    return value
  })
