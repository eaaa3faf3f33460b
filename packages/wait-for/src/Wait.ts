/**
 * The wait: every target at once, each one attempt after another under the library's policies
 * (`Policy.retryTransient` over a capped backoff, `Policy.deadline` over it all), each attempt
 * and decision reported as an event. A target that fails ends the wait for the others: the run's
 * outcome is known.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector, Policy } from "@effect-connect/core"
import { Deferred, Duration, Effect, Predicate, Schedule } from "effect"
import type * as Event from "./Event.js"
import * as Failure from "./Failure.js"
import * as Probe from "./Probe.js"
import type * as Target from "./Target.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Settings extends Probe.Options {
  /** Milliseconds in all; 0 is no limit. */
  readonly timeout: number
  /** The longest wait between two attempts. */
  readonly interval: number
  /** The first wait; it doubles up to `interval`. */
  readonly backoffBase: number
  readonly maxAttempts: number | undefined
  readonly waitDns: boolean
  readonly reverse: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export type Result = typeof Event.Result.Type

/**
 * @since 0.1.0
 * @category models
 */
export type Emit = (event: Event.Event) => void

// A deadline's TimedOut is the overall one unless it says it was one attempt's (whose attempts
// were then spent: `--max-attempts`).
const statusOf = (error: Event.ErrorInfo): Event.Status =>
  error.tag === "TimedOut" && error.source === "deadline" && error.scope !== "attempt" ? "timed-out" : "failed"

/**
 * Waits for the targets; never fails. The results are in the targets' order.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  targets: ReadonlyArray<Target.Target>,
  settings: Settings,
  emit: Emit
): Effect.Effect<ReadonlyArray<Result>, never, Connector.Connector> =>
  Effect.gen(function*() {
    const stop = yield* Deferred.make<void>()
    const overrides: Policy.RetryOptions = settings.waitDns ? { retry: { HostNotFound: true } } : {}
    // The same test as retryTransient's, so that a retry is announced only when one follows.
    const retried = (e: unknown) => {
      const tag = Predicate.hasProperty(e, "_tag") ? String(e._tag) : ""
      return (overrides.retry as Record<string, boolean | undefined> | undefined)?.[tag] ?? ConnectError.isTransient(e)
    }

    const one = (target: Target.Target) => {
      const started = Date.now()
      let attempts = 0
      let last: unknown = undefined
      let done = false
      const elapsed = () => Date.now() - started
      const finish = (status: Event.Status, fields: Partial<Pick<Result, "remote" | "httpStatus" | "error">>): Result => {
        done = true
        const result: Result = {
          event: "result",
          time: Date.now(),
          target: target.input,
          status,
          elapsed: elapsed(),
          attempts,
          ...fields
        }
        emit(result)
        return result
      }

      const waited = Effect.gen(function*() {
        const probe = yield* Probe.make(target, settings)
        const attempt = Effect.gen(function*() {
          attempts = yield* Policy.currentAttempt
          const outcome = yield* Effect.result(probe)
          const report = { event: "attempt", time: Date.now(), target: target.input, attempt: attempts, elapsed: elapsed() } as const
          if (outcome._tag === "Success") {
            const up = outcome.success
            const found = { remote: up.remote, ...(up.status === undefined ? {} : { httpStatus: up.status }) }
            emit({ ...report, outcome: "up", ...found })
            if (!settings.reverse) return found
            last = new Probe.StillUp({ address: target.input, remote: up.remote })
            return yield* Effect.fail(last as Probe.StillUp)
          }
          last = outcome.failure
          emit({ ...report, outcome: "down", error: Failure.info(outcome.failure) })
          return settings.reverse ? undefined : yield* Effect.fail(outcome.failure)
        })
        const schedule = Policy.backoff({
          base: Duration.millis(settings.backoffBase),
          cap: Duration.millis(settings.interval),
          jitter: "equal",
          ...(settings.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts })
        }).pipe(
          // In the schedule, ahead of the tap: retryTransient tests the error only after a step.
          Schedule.while(({ input }) => retried(input)),
          Schedule.tap(({ duration }) =>
            Effect.sync(() =>
              emit({ event: "retry", time: Date.now(), target: target.input, attempt: attempts, in: Duration.toMillis(duration) })
            )
          )
        )
        const retrying = Policy.retryTransient(schedule, overrides)(attempt)
        return yield* settings.timeout === 0 ? retrying : Policy.deadline(Duration.millis(settings.timeout), target.input)(retrying)
      }).pipe(Effect.scoped)

      return Effect.matchEffect(waited, {
        onSuccess: (found) =>
          Effect.succeed(
            settings.reverse
              ? finish("down", last === undefined ? {} : { error: Failure.info(last) })
              : finish("up", found ?? {})
          ),
        onFailure: (error) => {
          const info = Failure.info(error)
          const result = finish(statusOf(info), { error: info })
          // Only a permanent failure decides the run early: a deadline is every target's at once.
          return Effect.as(result.status === "failed" ? Deferred.succeed(stop, undefined) : Effect.void, result)
        }
      }).pipe(
        Effect.raceFirst(Effect.andThen(
          Deferred.await(stop),
          Effect.suspend(() => done ? Effect.never : Effect.sync(() => finish("cancelled", {})))
        ))
      )
    }

    return yield* Effect.forEach(targets, one, { concurrency: "unbounded" })
  })

/**
 * The exit code of a finished wait: 0 when every target reached its goal.
 *
 * @since 0.1.0
 * @category running
 */
export const exitCode = (results: ReadonlyArray<Result>): 0 | 1 =>
  results.every((r) => r.status === "up" || r.status === "down") ? 0 : 1
