/**
 * The policies around a connect, each one line at the call site: backoff schedules, a retry that
 * never retries a permanent error, an overall deadline, and RFC 8305 racing of addresses.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Data, Duration, Effect, Exit, Fiber, Option, Random, Result, Schedule, Scope, Tracer } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Address from "./Address.js"
import * as ConnectError from "./ConnectError.js"
import * as Errno from "./Errno.js"
import * as Attempts from "./internal/attempts.js"
import * as Options from "./internal/options.js"
import * as Spans from "./internal/spans.js"

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
 * The options of `backoff`.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** The first delay: finite, not negative. */
  readonly base: Duration.Input
  /** No delay is longer than this. Default (and at most): 2^31 - 1 ms, the longest timer a runtime keeps. */
  readonly cap?: Duration.Input
  /** Growth per attempt: a finite number above 1. Default 2. */
  readonly factor?: number
  /** Default `none`. */
  readonly jitter?: Jitter
  /** Attempts in all, the first one included: a whole number, at least 1. */
  readonly maxAttempts?: number
  /** Stop retrying once this much time has passed since the first retry was scheduled. */
  readonly maxElapsed?: Duration.Input
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
  // Each run of the schedule (each retry loop) starts from its own state.
  const schedule = Schedule.fromStep(Effect.sync(() => {
    let n = 0
    let previous = base
    return (_now: number, _input: unknown) =>
      Effect.map(delayOf(n, previous), (millis): [Duration.Duration, Duration.Duration] => {
        const delay = Math.round(millis)
        n++
        previous = delay
        return [Duration.millis(delay), Duration.millis(delay)]
      })
  }))
  return options.maxAttempts === undefined && options.maxElapsed === undefined ? schedule : Schedule.upTo(schedule, {
    times: options.maxAttempts === undefined ? undefined : options.maxAttempts - 1,
    duration: options.maxElapsed
  })
}

// A schedule that stops at once, for options that are unusable.
const stopped = (): Schedule.Schedule<Duration.Duration, unknown> =>
  Schedule.fromStep(Effect.succeed((_now: number, _input: unknown) => Cause.done(Duration.zero)))

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
    ? Object.assign(stopped(), { problem: checked })
    : Object.assign(exponential(checked), { problem: undefined })
}

/**
 * The attempt number (1, 2, ...) of the innermost `retryTransient`, for spans and logs. Read it
 * with `yield* Policy.currentAttempt`.
 *
 * @since 0.1.0
 * @category references
 */
export const currentAttempt: Context.Reference<number> = Context.Reference<number>(
  "@effect-connect/core/Policy/currentAttempt",
  { defaultValue: () => 1 }
)

/**
 * The options of `retryTransient`.
 *
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
 * `retry.attempts` and `retry.outcome` (`ok`, the error's tag, or `interrupted`); when it failed,
 * OpenTelemetry's `error.type` (the error's tag), and the error's `connect.errno` and
 * `connect.diagnosis.component` / `.problem` (a unix path's diagnosis) when it has them.
 *
 * @example
 * ```ts
 * import { Address, Connector, Policy } from "@effect-connect/core"
 * import { Effect } from "effect"
 *
 * // Retries refusals (a server still starting), not a missing socket file (a wrong path), and
 * // stops after 30 s with a `TimedOut` that says what the last attempt failed with.
 * const connection = Connector.connect(Address.unix("/run/postgresql/.s.PGSQL.5432")).pipe(
 *   Policy.retryTransient(Policy.backoff({ base: "100 millis", cap: "2 seconds", jitter: "full" }), {
 *     retry: { NotFound: false }
 *   }),
 *   Policy.deadline("30 seconds")
 * )
 * ```
 *
 * @since 0.1.0
 * @category retry
 */
export const retryTransient: {
  (schedule: Backoff, options?: RetryOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | ConnectError.InvalidOption, R>
  <Out, E2, R2>(schedule: Schedule.Schedule<Out, unknown, E2, R2>, options?: RetryOptions): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | E2, R | R2>
} = (<Out, E2, R2>(schedule: Schedule.Schedule<Out, unknown, E2, R2>, options: RetryOptions = {}) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2 | ConnectError.InvalidOption, R | R2> =>
  Effect.withFiber<A, E | E2 | ConnectError.InvalidOption, R | R2>((fiber) => {
    const problem = retryProblem(schedule, options)
    if (problem !== undefined) return Effect.fail(problem)
    const journal = fiber.getRef(Attempts.current)
    let attempt = 0
    const once = Effect.suspend(() => {
      attempt++
      const run = Effect.provideService(self, currentAttempt, attempt)
      if (journal === undefined) return run
      journal.tries++
      return Effect.tapError(run, (e) => Effect.sync(() => Attempts.failed(journal, e)))
    })
    const loop = Effect.retry(once, { schedule, while: (e: E) => shouldRetry(e, options) }).pipe(
      Effect.mapError((e) => attempt > 1 ? ConnectError.withAttempts(e, attempt) : e)
    )
    return traced(fiber, "retry", () => attempt, loop)
  })) as typeof retryTransient

// A loop's span, `effect-connect.<name>`, only when a tracer will receive it: how many attempts
// it made and how it ended, with what the error says when it failed (an interruption is no error
// of the loop's).
const traced = <A, E, R>(
  fiber: Fiber.Fiber<unknown, unknown>,
  name: string,
  attempts: () => number,
  loop: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer ? loop : loop.pipe(
    Effect.onExit((exit) => {
      const outcome = outcomeOf(exit)
      return Effect.annotateCurrentSpan({
        [`${name}.attempts`]: attempts(),
        [`${name}.outcome`]: outcome,
        ...(Exit.isSuccess(exit) || outcome === "interrupted"
          ? {}
          : Spans.failureAttributes(outcome, Option.getOrUndefined(Cause.findErrorOption(exit.cause))))
      })
    }),
    Effect.withSpan(`effect-connect.${name}`, undefined, { captureStackTrace: false })
  )

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
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) {
    const tag = (error.value as { readonly _tag?: unknown } | null | undefined)?._tag
    return typeof tag === "string" ? tag : "error"
  }
  return Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "defect"
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
 * With a tracer installed, it is one span, `effect-connect.deadline` (the retry loop's parent),
 * with its `deadline.attempts` (as `TimedOut`'s), `deadline.outcome` (`ok`, the error's tag, or
 * `interrupted`), and when it failed, what `retryTransient`'s span says of its error.
 *
 * @since 0.1.0
 * @category timeouts
 */
export const deadline = (duration: Duration.Input, label?: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConnectError.TimedOut | ConnectError.InvalidOption, R> =>
  Effect.withFiber((fiber): Effect.Effect<A, E | ConnectError.TimedOut | ConnectError.InvalidOption, R> => {
    const limit = Options.duration(duration, true)
    if (typeof limit === "string") return Effect.fail(new ConnectError.InvalidOption({ option: "deadline", reason: limit }))
    if (label !== undefined && typeof label !== "string") {
      return Effect.fail(new ConnectError.InvalidOption({ option: "deadline.label", reason: `must be a string, got ${Options.shown(label)}` }))
    }
    const journal = Attempts.journal()
    // The time waited, on the monotonic clock, and never less than the deadline that passed: a
    // timer fires by the event loop's millisecond time, which can read 1 ms behind the clock.
    const waited = (start: bigint, now: bigint) => Math.max(Math.round(Number(now - start) / 1e6), Duration.toMillis(limit))
    return traced(fiber, "deadline", () => attemptsIn(journal), Effect.flatMap(Clock.monotonicTimeNanos, (start) =>
      Effect.timeoutOrElse(Effect.provideService(self, Attempts.current, journal), {
        duration: limit,
        orElse: () => Effect.flatMap(Clock.monotonicTimeNanos, (now) => Effect.fail(passed(journal, waited(start, now), label)))
      })))
  })

// A connect's attempts are its dials; a loop over something else counts its own tries.
const attemptsIn = (journal: Attempts.Journal): number => journal.dials > 0 ? journal.dials : journal.tries

const passed = (journal: Attempts.Journal, elapsed: number, label: string | undefined): ConnectError.TimedOut => {
  const dials = journal.dials > 0
  const attempts = attemptsIn(journal)
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
 * The options of `race`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RaceOptions<X> {
  /** RFC 8305's Connection Attempt Delay. Default 250 ms. */
  readonly delay?: Duration.Input
  /** How a candidate is named in `AllAttemptsFailed`. */
  readonly describe: (candidate: X) => string
}

const defaultDelay = Duration.millis(250)

const invalidRace = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `race.${option}`, reason })

// What a caller's function threw, for an InvalidOption's reason: an Error's own message or the
// value's kind, never a getter or a toString of what was thrown.
const threw = (e: unknown): string => {
  try {
    const message: unknown = typeof e === "object" && e !== null ? Object.getOwnPropertyDescriptor(e, "message")?.value : undefined
    return `threw ${Options.shown(typeof message === "string" ? message : e)}`
  } catch {
    return `threw ${Options.shown(e)}`
  }
}

// What a race works from, read once when it runs: its own copy of the candidates (an attempt that
// changes the caller's array changes nothing), their names and the delay between starts.
interface RaceInput<X> {
  readonly candidates: ReadonlyArray<X>
  readonly names: ReadonlyArray<string>
  readonly delay: Duration.Duration
}

// The race's input, or what is wrong with the arguments (nothing has started then). What the
// caller's code run here throws (describe, a getter on options, a Proxy's trap) is an
// InvalidOption for the argument being read, never a defect.
const raceInput = <X>(candidates: unknown, attempt: unknown, options: unknown): RaceInput<X> | ConnectError.InvalidOption => {
  let reading = "candidates"
  try {
    const length: unknown = Array.isArray(candidates) ? candidates.length : undefined
    if (typeof length !== "number" || length === 0) {
      return invalidRace("candidates", `must be a non-empty array, got ${length === 0 ? "an empty one" : Options.shown(candidates)}`)
    }
    const copy: Array<X> = []
    for (let i = 0; i < length; i++) {
      // A hole would be an attempt at undefined; and `length = 2 ** 32 - 1` on an empty array, a
      // copy that never ends.
      if (!(i in (candidates as ReadonlyArray<X>))) return invalidRace("candidates", `must have no holes, got one at index ${i}`)
      copy.push((candidates as ReadonlyArray<X>)[i]!)
    }
    if (typeof attempt !== "function") return invalidRace("attempt", `must be a function, got ${Options.shown(attempt)}`)
    if (typeof options !== "object" || options === null) {
      return invalidRace("options", `must be an object with describe, got ${Options.shown(options)}`)
    }
    reading = "options"
    const { delay, describe } = options as RaceOptions<X>
    if (typeof describe !== "function") return invalidRace("describe", `must be a function, got ${Options.shown(describe)}`)
    reading = "delay"
    const checked = delay === undefined ? defaultDelay : Options.duration(delay, true)
    if (typeof checked === "string") return invalidRace("delay", checked)
    // Each name asked for once, up front: a failing attempt is recorded without calling the
    // caller's code, and a describe that throws is found before any attempt.
    reading = "describe"
    const names: Array<string> = []
    for (let i = 0; i < copy.length; i++) {
      const name: unknown = Reflect.apply(describe, options, [copy[i]])
      if (typeof name !== "string") return invalidRace("describe", `must return a string, got ${Options.shown(name)}`)
      names.push(name)
    }
    return { candidates: copy, names, delay: checked }
  } catch (e) {
    return invalidRace(reading, threw(e))
  }
}

// One attempt's effect: a function that throws, or returns something that is no Effect, is the
// caller's mistake (InvalidOption race.attempt), never a defect.
const attemptOf = <X, A, E, R>(
  attempt: (candidate: X) => Effect.Effect<A, E, R>,
  candidate: X
): Result.Result<Effect.Effect<A, E, R>, ConnectError.InvalidOption> => {
  try {
    const effect: unknown = attempt(candidate)
    return Effect.isEffect(effect)
      ? Result.succeed(effect as Effect.Effect<A, E, R>)
      : Result.fail(invalidRace("attempt", `must return an Effect, got ${Options.shown(effect)}`))
  } catch (e) {
    return Result.fail(invalidRace("attempt", threw(e)))
  }
}

// Attempts interrupted at a time: each one's finalizers run as it is interrupted, so a race with
// thousands in flight releases them over several turns of the event loop rather than in one.
const interruptBatch = 128

const interruptInTurns = (fibers: ReadonlyArray<Fiber.Fiber<unknown, unknown>>): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < fibers.length; i += interruptBatch) {
      if (i > 0) yield* Effect.yieldNow
      yield* Fiber.interruptAll(fibers.slice(i, i + interruptBatch))
    }
  })

// How a race ends: decided by the first attempt that wins, by the last typed failure, or by an
// attempt that ends otherwise (a defect, its own interruption, a bad attempt function).
type Decided<A> =
  | { readonly _tag: "Won"; readonly value: A; readonly scope: Scope.Closeable }
  | { readonly _tag: "AllFailed" }
  | { readonly _tag: "Ended"; readonly cause: Cause.Cause<ConnectError.InvalidOption> }

// One coordinator in the caller's fiber over a flat set of attempt fibers, each in its own scope
// forked from the caller's: every step is O(1) (no race nests in another), an interruption
// interrupts each attempt once, and each attempt starts on a later scheduler turn than the one
// that started it, so thousands of attempts that fail at once take turns with the event loop.
const runRace = <X, A, E, R>(
  input: RaceInput<X>,
  attempt: (candidate: X) => Effect.Effect<A, E, R | Scope.Scope>,
  parent: Scope.Scope,
  fiber: Fiber.Fiber<unknown, unknown>
): Effect.Effect<A, AllAttemptsFailed<E> | ConnectError.InvalidOption, R> => {
  const { candidates, delay, names } = input
  const clock = fiber.getRef(Clock.Clock)
  const start = clock.currentTimeMillisUnsafe()
  const scopes: Array<Scope.Closeable> = []
  const running = new Set<Fiber.Fiber<A, E>>()
  const failures: Array<AttemptFailure<E>> = []
  let failed = 0
  let decided: Decided<A> | undefined
  // The coordinator's resumption while it waits; called whenever an attempt fiber ends.
  let wake: (() => void) | undefined

  // An attempt's last act, in its own fiber: record how it ended, then release its scope unless
  // it won.
  const settle = (index: number, startedAt: number, scope: Scope.Closeable, exit: Exit.Exit<A, E>): Effect.Effect<void> => {
    if (decided === undefined) {
      if (Exit.isSuccess(exit)) {
        decided = { _tag: "Won", value: exit.value, scope }
        return Effect.void
      }
      const error = Cause.findErrorOption(exit.cause)
      if (Option.isSome(error) && !Cause.hasDies(exit.cause)) {
        failures[index] = {
          address: names[index]!,
          error: error.value,
          startedAfter: Duration.millis(startedAt - start),
          elapsed: Duration.millis(clock.currentTimeMillisUnsafe() - startedAt)
        }
        if (++failed === candidates.length) decided = { _tag: "AllFailed" }
      } else {
        // A bug is not raced past: the race ends with its defects (or the attempt's own
        // interruption), its typed errors dropped.
        decided = { _tag: "Ended", cause: Cause.fromReasons(exit.cause.reasons.filter((r) => !Cause.isFailReason(r))) as Cause.Cause<never> }
      }
    }
    return Scope.close(scope, Exit.void)
  }

  const launch = (index: number, startedAt: number): Effect.Effect<void, never, R> => {
    const effect = attemptOf(attempt, candidates[index]!)
    if (Result.isFailure(effect)) {
      decided = { _tag: "Ended", cause: Cause.fail(effect.failure) }
      return Effect.void
    }
    const scope = Scope.forkUnsafe(parent, "sequential")
    scopes.push(scope)
    const one = Effect.onExit(Scope.provide(effect.success, scope), (exit) => settle(index, startedAt, scope, exit))
    return Effect.map(Effect.forkDetach(one), (attemptFiber) => {
      running.add(attemptFiber)
      attemptFiber.addObserver(() => {
        running.delete(attemptFiber)
        wake?.()
      })
    })
  }

  // Resumes once the race is decided or, for an index, once that attempt has failed.
  const decidedOrFailed = (index?: number) =>
    Effect.callback<void>((resume) => {
      const ready = () => decided !== undefined || (index !== undefined && failures[index] !== undefined)
      if (ready()) return resume(Effect.void)
      const check = () => {
        if (ready()) {
          wake = undefined
          resume(Effect.void)
        }
      }
      wake = check
      return Effect.sync(() => {
        if (wake === check) wake = undefined
      })
    })

  // RFC 8305: the next attempt starts when the delay has passed or the previous one failed. The
  // attempt runs on the next turn, first: one that failed at once needs no timer.
  const stagger = (index: number, startedAt: number): Effect.Effect<void> =>
    Effect.flatMap(Effect.yieldNow, () => {
      if (decided !== undefined || failures[index] !== undefined) return Effect.void
      const left = Duration.toMillis(delay) - (clock.currentTimeMillisUnsafe() - startedAt)
      return left > 0 ? Effect.raceFirst(decidedOrFailed(index), Effect.sleep(Duration.millis(left))) : Effect.void
    })

  // Interruptible only while it waits: an attempt is never started without being tracked.
  const coordinate = (restore: <AX, EX, RX>(effect: Effect.Effect<AX, EX, RX>) => Effect.Effect<AX, EX, RX>) =>
    Effect.gen(function*() {
      for (let index = 0; index < candidates.length && decided === undefined; index++) {
        const startedAt = clock.currentTimeMillisUnsafe()
        yield* launch(index, startedAt)
        if (index < candidates.length - 1) yield* restore(stagger(index, startedAt))
      }
      yield* restore(decidedOrFailed())
    })

  // Every attempt but the winner interrupted, and every scope but the winner's closed (an attempt
  // interrupted before it ran never closed its own); the winner's too when the race did not
  // succeed (interrupted just after the win).
  const release = (exit: Exit.Exit<void>): Effect.Effect<void> => {
    const kept = Exit.isSuccess(exit) && decided?._tag === "Won" ? decided.scope : undefined
    // From here on an attempt that ends only releases what it holds.
    decided ??= { _tag: "Ended", cause: Cause.interrupt(fiber.id) }
    return Effect.andThen(
      interruptInTurns(Array.from(running)),
      Effect.forEach(scopes, (scope) => scope === kept ? Effect.void : Scope.close(scope, Exit.void), { discard: true })
    )
  }

  const outcome = (): Effect.Effect<A, AllAttemptsFailed<E> | ConnectError.InvalidOption> => {
    const ended = decided!
    switch (ended._tag) {
      case "Won":
        return Effect.succeed(ended.value)
      case "AllFailed":
        // Every index is set: the attempts in the order they started.
        return Effect.fail(new AllAttemptsFailed({ attempts: failures as unknown as NonEmptyReadonlyArray<AttemptFailure<E>> }))
      case "Ended":
        return Effect.failCause(ended.cause)
    }
  }

  return Effect.uninterruptibleMask((restore) => Effect.flatMap(Effect.onExit(coordinate(restore), release), outcome))
}

/**
 * RFC 8305 racing: attempt the candidates in order, starting the next one when the delay has
 * passed or the previous attempt failed, whichever comes first. The first success wins; every
 * other attempt is interrupted and whatever it acquired (in its own scope) is released, even one
 * that succeeded a moment too late; a failed attempt's scope is released when it fails. The
 * winner's scope stays open in the caller's. When all fail, `AllAttemptsFailed` keeps each typed
 * error, in the order the attempts started. An attempt that dies (or interrupts itself) ends the
 * race with that cause, the others interrupted: a bug is not raced past.
 *
 * The race reads its arguments once when it runs: a copy of the candidates, and each one's name
 * from `describe`; a change to the caller's array changes nothing. Arguments it cannot work with
 * (no candidates, a hole among them, a negative or NaN `delay`, a `describe` that throws or
 * returns no string, ...) fail with `InvalidOption` (`race.delay`, ...) before any attempt; an
 * `attempt` that throws or returns no Effect fails the race with `InvalidOption` `race.attempt`.
 *
 * Its cost is linear in the number of candidates, and each attempt starts on a later turn of the
 * event loop than the previous one: thousands of attempts that fail at once never hold the loop,
 * and an interrupted race (by `deadline`, say) interrupts each attempt once.
 *
 * @since 0.1.0
 * @category racing
 */
export const race = <X, A, E, R>(
  candidates: NonEmptyReadonlyArray<X>,
  attempt: (candidate: X) => Effect.Effect<A, E, R | Scope.Scope>,
  options: RaceOptions<X>
): Effect.Effect<A, AllAttemptsFailed<E> | ConnectError.InvalidOption, R | Scope.Scope> =>
  Effect.withFiber((fiber) => {
    const input = raceInput<X>(candidates, attempt, options)
    if (input instanceof ConnectError.InvalidOption) return Effect.fail(input)
    return Effect.flatMap(Effect.scope, (parent) => runRace(input, attempt, parent, fiber))
  })
