// Policy.race at scale and under callers that misbehave: many candidates (a name with hundreds of
// addresses), attempts that fail at once or never complete, an interruption or a deadline in the
// middle, and caller code that throws or changes its arguments. Speed targets live in the bench
// (packages/core/bench/race.js); these tests count.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Scheduler } from "effect"
import type { NonEmptyArray } from "effect/Array"
import { TestClock } from "effect/testing"
import { ConnectError, Policy } from "@effect-connect/core"

const refused = (c: number) =>
  ConnectError.fromErrno("ECONNREFUSED", { kind: "inet", syscall: "connect", address: `tcp://10.0.0.${c}:1`, platform: "linux" })

const range = (n: number) => Array.from({ length: n }, (_, i) => i) as unknown as NonEmptyArray<number>

// The race's error, or the cause when it is none (a defect, an interruption).
const failureOf = <A, E>(exit: Exit.Exit<A, E>): E | Cause.Cause<E> | "success" => {
  if (Exit.isSuccess(exit)) return "success"
  const error = Cause.findErrorOption(exit.cause)
  return Option.isSome(error) && !Cause.hasDies(exit.cause) ? error.value : exit.cause
}

// The fibers' steps: the scheduler is asked whether to yield before each one. Wraps the current
// scheduler (TestClock's, under it.effect), so sleeps are still tracked.
const countingSteps = Effect.gen(function*() {
  const inner = yield* Scheduler.Scheduler
  const counter = { steps: 0 }
  const scheduler: Scheduler.Scheduler = {
    executionMode: inner.executionMode,
    shouldYield: (fiber) => {
      counter.steps++
      return inner.shouldYield(fiber)
    },
    makeDispatcher: () => inner.makeDispatcher()
  }
  return { counter, scheduler }
})

// What `self` gives, and how many turns the event loop made meanwhile (a setImmediate that re-arms
// itself): a race that held the loop lets it make none.
const turnsDuring = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<readonly [A, number], E, R> =>
  Effect.suspend(() => {
    let turns = 0
    let ticker = setImmediate(function tick() {
      turns++
      ticker = setImmediate(tick)
    })
    return Effect.map(Effect.ensuring(self, Effect.sync(() => clearImmediate(ticker))), (a) => [a, turns] as const)
  })

describe("Policy.race over many candidates", () => {
  it.effect("interrupting 1,000 attempts in flight releases each one, in at most 30 fiber steps per attempt, letting the event loop turn", () =>
    Effect.gen(function*() {
      const n = 1_000
      let started = 0
      let released = 0
      const attempt = () =>
        Effect.acquireRelease(Effect.sync(() => started++), () => Effect.sync(() => released++)).pipe(Effect.andThen(Effect.never))
      const { counter, scheduler } = yield* countingSteps
      const fiber = yield* Policy.race(range(n), attempt, { delay: "1 millis", describe: String }).pipe(
        Effect.scoped,
        Effect.provideService(Scheduler.Scheduler, scheduler),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      expect(started).toBe(n)
      expect(released).toBe(0)

      counter.steps = 0
      const [, turns] = yield* turnsDuring(Fiber.interrupt(fiber))
      expect(released).toBe(n)
      expect(counter.steps).toBeLessThanOrEqual(30 * n)
      // Released over several turns of the event loop, not in one.
      expect(turns).toBeGreaterThan(1)
    }))

  it.effect("10,000 candidates that each fail at once: AllAttemptsFailed with each of them, in order", () =>
    Effect.gen(function*() {
      const n = 10_000
      const attempted: Array<number> = []
      const error = yield* Policy.race(range(n), (c) => Effect.suspend(() => (attempted.push(c), Effect.fail(refused(c)))), {
        describe: (c) => `candidate ${c}`
      }).pipe(Effect.scoped, Effect.flip)
      expect(error._tag).toBe("AllAttemptsFailed")
      if (error._tag !== "AllAttemptsFailed") return
      expect(attempted).toEqual(range(n))
      expect(error.attempts.length).toBe(n)
      expect(error.attempts.map((a) => a.address)).toEqual(range(n).map((c) => `candidate ${c}`))
      expect(error.attempts.every((a, c) => a.error._tag === "ConnectionRefused" && a.error.address === `tcp://10.0.0.${c}:1`)).toBe(true)
      expect(error.transient).toBe(true)
    }))

  it.live("a deadline over 20,000 candidates that fail at once and a black hole answers at its time, with whatever was acquired released", () =>
    Effect.gen(function*() {
      const n = 20_000
      let acquired = 0
      let released = 0
      // The black hole at the end: the race cannot end before the deadline, however fast the machine.
      const attempt = (c: number) =>
        c < n - 1
          ? Effect.fail(refused(c))
          : Effect.acquireRelease(Effect.sync(() => acquired++), () => Effect.sync(() => released++)).pipe(Effect.andThen(Effect.never))
      const begin = performance.now()
      const [error, turns] = yield* Policy.race(range(n), attempt, { describe: String }).pipe(
        Policy.deadline("300 millis", "many.internal"),
        Effect.scoped,
        Effect.flip,
        turnsDuring
      )
      const took = performance.now() - begin
      expect(error).toMatchObject({ _tag: "TimedOut", source: "deadline", scope: "overall" })
      expect(released).toBe(acquired)
      // Whatever the machine: each attempt starts on a later turn of the event loop, so the loop
      // turned all along, the deadline's timer fired when due, and only the attempts in flight
      // (one here) were interrupted before the answer.
      expect(turns).toBeGreaterThan(100)
      expect(took).toBeGreaterThanOrEqual(299)
      expect(took).toBeLessThan(1_500)
    }))
})

describe("Policy.race under callers that misbehave", () => {
  it.effect("an attempt that empties the caller's array changes nothing: each candidate is attempted once", () =>
    Effect.gen(function*() {
      const candidates: NonEmptyArray<number> = [1, 2, 3]
      const attempted: Array<unknown> = []
      const error = yield* Policy.race(candidates, (c) =>
        Effect.suspend(() => {
          attempted.push(c)
          candidates.length = 0
          // A race that read the array live would go on with undefined: stop it at once.
          return attempted.length > 3 ? Effect.succeed("attempted too often") : Effect.fail(refused(c))
        }), { describe: (c) => `candidate ${c}` }).pipe(Effect.scoped, Effect.flip)
      expect(attempted).toEqual([1, 2, 3])
      expect(error._tag).toBe("AllAttemptsFailed")
      if (error._tag !== "AllAttemptsFailed") return
      expect(error.attempts.map((a) => a.address)).toEqual(["candidate 1", "candidate 2", "candidate 3"])
    }))

  it.effect("a describe that throws is InvalidOption race.describe, before any attempt", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Policy.race([1, 2], () => (attempts++, Effect.fail("x")), {
        describe: (c) => {
          if (c === 2) throw new Error("no name for 2")
          return String(c)
        }
      }).pipe(Effect.scoped, Effect.exit)
      expect(failureOf(exit)).toEqual(new ConnectError.InvalidOption({ option: "race.describe", reason: `threw "no name for 2"` }))
      expect(attempts).toBe(0)
    }))

  it.effect("a describe that returns no string, a getter on options that throws, a hole among the candidates: InvalidOption, before any attempt", () =>
    Effect.gen(function*() {
      let attempts = 0
      const attempt = () => (attempts++, Effect.fail("x"))
      const outcome = (candidates: ReadonlyArray<number>, options: unknown) =>
        Effect.map(Effect.exit(Effect.scoped(Policy.race(candidates as [number], attempt, options as Policy.RaceOptions<number>))), failureOf)
      expect(yield* outcome([1], { describe: () => 7 })).toEqual(
        new ConnectError.InvalidOption({ option: "race.describe", reason: "must return a string, got 7" })
      )
      const throwing = Object.defineProperty({}, "describe", { get: () => { throw "no" } })
      expect(yield* outcome([1], throwing)).toEqual(new ConnectError.InvalidOption({ option: "race.options", reason: `threw "no"` }))
      expect(yield* outcome([1, , 3] as Array<number>, { describe: String })).toEqual(
        new ConnectError.InvalidOption({ option: "race.candidates", reason: "must have no holes, got one at index 1" })
      )
      expect(attempts).toBe(0)
    }))

  it.effect("an attempt that throws, or returns no Effect, is InvalidOption race.attempt; the attempts in flight are interrupted and released", () =>
    Effect.gen(function*() {
      let released = 0
      const holding = Effect.acquireRelease(Effect.void, () => Effect.sync(() => released++)).pipe(Effect.andThen(Effect.never))
      const throwing = (c: number) => {
        if (c === 3) throw new Error("bad candidate")
        return holding
      }
      const fiber = yield* Policy.race([1, 2, 3], throwing, { delay: "10 millis", describe: String }).pipe(
        Effect.scoped,
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust("20 millis")
      expect(failureOf(yield* Fiber.join(fiber))).toEqual(
        new ConnectError.InvalidOption({ option: "race.attempt", reason: `threw "bad candidate"` })
      )
      expect(released).toBe(2)
      const notAnEffect = yield* Policy.race([1], () => 5 as unknown as Effect.Effect<never>, { describe: String }).pipe(Effect.scoped, Effect.exit)
      expect(failureOf(notAnEffect)).toEqual(new ConnectError.InvalidOption({ option: "race.attempt", reason: "must return an Effect, got 5" }))
    }))

  it.effect("an attempt that dies ends the race with its defect: the others are interrupted and released, none is raced past it", () =>
    Effect.gen(function*() {
      let released = 0
      const attempt = (c: number) =>
        c === 2
          ? Effect.die("a bug in the dial")
          : Effect.acquireRelease(Effect.void, () => Effect.sync(() => released++)).pipe(Effect.andThen(Effect.sleep("1 second")))
      const fiber = yield* Policy.race([1, 2, 3], attempt, { delay: "10 millis", describe: String }).pipe(
        Effect.scoped,
        Effect.exit,
        Effect.forkChild
      )
      yield* TestClock.adjust("10 millis")
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      expect(released).toBe(1)
    }))
})
