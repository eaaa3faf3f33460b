/**
 * The policies around a connect, each one line at the call site: backoff schedules, a retry that
 * never retries a permanent error, an overall deadline, and RFC 8305 racing of addresses.
 *
 * @since 0.1.0
 */
import {
  Clock,
  Data,
  Deferred,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  FiberRef,
  Random,
  Schedule,
  ScheduleDecision,
  ScheduleInterval,
  Scope
} from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as ConnectError from "./ConnectError.js"
import * as Errno from "./Errno.js"

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
  /** The first delay. */
  readonly base: Duration.DurationInput
  /** No delay is longer than this. Default: no cap. */
  readonly cap?: Duration.DurationInput
  /** Growth per attempt. Default 2. */
  readonly factor?: number
  /** Default `none`. */
  readonly jitter?: Jitter
  /** Attempts in all, the first one included. */
  readonly maxAttempts?: number
  /** Stop retrying once this much time has passed since the first retry was scheduled. */
  readonly maxElapsed?: Duration.DurationInput
}

/**
 * An exponential backoff: outputs each delay it waits.
 *
 * @since 0.1.0
 * @category schedules
 */
export const backoff = (options: BackoffOptions): Schedule.Schedule<Duration.Duration, unknown> => {
  const base = Duration.toMillis(options.base)
  const cap = options.cap === undefined ? Infinity : Duration.toMillis(options.cap)
  const factor = options.factor ?? 2
  const jitter = options.jitter ?? "none"
  const uniform = (low: number, high: number) =>
    Effect.map(Random.next, (r) => low + r * (high - low))
  const delayOf = (n: number, previous: number): Effect.Effect<number> => {
    const exact = Math.min(cap, base * Math.pow(factor, n))
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
    schedule = Schedule.zipLeft(schedule, Schedule.recurs(Math.max(0, options.maxAttempts - 1)))
  }
  if (options.maxElapsed !== undefined) {
    schedule = Schedule.upTo(schedule, options.maxElapsed)
  }
  return schedule
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
 * Retries transient errors on `schedule` and lets every other error through at once. After the
 * schedule gives up, the last error comes out as it was: the type stays the full union, so the
 * caller handles permanent tags and the last transient one alike.
 *
 * @since 0.1.0
 * @category retry
 */
export const retryTransient = <Out, R2>(schedule: Schedule.Schedule<Out, unknown, R2>, options: RetryOptions = {}) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | R2> =>
  Effect.suspend(() => {
    let attempt = 0
    return Effect.suspend(() => Effect.locally(self, currentAttempt, ++attempt)).pipe(
      Effect.retry({ schedule, while: (e: E) => shouldRetry(e, options) })
    )
  })

const shouldRetry = (e: unknown, options: RetryOptions): boolean => {
  const tag = (e as { readonly _tag?: unknown })._tag
  const override = typeof tag === "string" ? options.retry?.[tag as ConnectError.ConnectError["_tag"]] : undefined
  return override ?? ConnectError.isTransient(e)
}

/**
 * An overall deadline over everything `self` does (all its retries included). When it passes,
 * `self` is interrupted (closing any socket it holds) and the result is `TimedOut` with
 * `source: "deadline"` for `address`.
 *
 * @since 0.1.0
 * @category timeouts
 */
export const deadline = (duration: Duration.DurationInput, address: string) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConnectError.TimedOut, R> =>
  Effect.timeoutFail(self, { duration, onTimeout: () => ConnectError.deadline(address, Errno.currentPlatform) })

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
      `${a.address} after ${Duration.format(a.elapsed)}: ${(a.error as { message?: string }).message ?? String(a.error)}`
    ).join("; ")
  }
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

/**
 * RFC 8305 racing: attempt the candidates in order, starting the next one when the delay has
 * passed or the previous attempt failed, whichever comes first. The first success wins; every
 * other attempt is interrupted and whatever it acquired (in its own scope) is released, even one
 * that succeeded a moment too late. When all fail, `AllAttemptsFailed` keeps each error.
 *
 * @since 0.1.0
 * @category racing
 */
export const race = <X, A, E, R>(
  candidates: NonEmptyReadonlyArray<X>,
  attempt: (candidate: X) => Effect.Effect<A, E, R | Scope.Scope>,
  options: RaceOptions<X>
): Effect.Effect<A, AllAttemptsFailed<E>, R | Scope.Scope> =>
  Effect.gen(function*() {
    const parent = yield* Effect.scope
    const delay = options.delay ?? Duration.millis(250)
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
