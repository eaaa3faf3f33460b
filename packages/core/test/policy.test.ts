import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Logger, type LogLevel, Metric, Random, References, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { Address, ConnectError, Connector, Policy, ScriptedConnector } from "@effect-connect/core"
import { recordingTracer } from "./recording.js"
import { delays } from "./schedule.js"

const pg = Address.tcp("127.0.0.1", 5432)
const at = (events: ReadonlyArray<ScriptedConnector.Event>, tag: ScriptedConnector.Event["_tag"]) =>
  events.filter((e) => e._tag === tag).map((e) => [e.address, e.at])

describe("Policy.retryTransient", () => {
  it.effect("retries a refused-then-accepting server with exactly the schedule's delays", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "100 millis", maxAttempts: 10 })),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const connection = yield* Fiber.join(fiber)
      expect(connection.remote).toEqual(pg)
      const events = yield* ScriptedConnector.events
      expect(at(events, "Attempt")).toEqual([
        ["tcp://127.0.0.1:5432", 0],
        ["tcp://127.0.0.1:5432", 100],
        ["tcp://127.0.0.1:5432", 300],
        ["tcp://127.0.0.1:5432", 700]
      ])
      expect(at(events, "Connected")).toEqual([["tcp://127.0.0.1:5432", 700]])
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:5432": [
        ScriptedConnector.fail("ECONNREFUSED"),
        ScriptedConnector.fail("ECONNREFUSED"),
        ScriptedConnector.fail("ECONNREFUSED"),
        ScriptedConnector.succeed()
      ]
    }))))

  it.effect("never retries a permanent error: one attempt, the error as it was", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "100 millis", maxAttempts: 10 })),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "PermissionDenied", errno: "EACCES", transient: false, reason: "prohibited" })
      expect(error).not.toHaveProperty("attempts")
      expect(at(yield* ScriptedConnector.events, "Attempt")).toHaveLength(1)
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.fail("EACCES")] }))))

  it.effect("gives up after maxAttempts with the last transient error, re-created with the number of attempts", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "10 millis", maxAttempts: 3 })),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(error).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", attempts: 3, transient: true })
      expect(error.message).toBe(
        "connect tcp://127.0.0.1:5432 failed with ECONNREFUSED after 3 attempts: the peer refused the connection " +
          "(nothing is listening on that port)"
      )
      expect(at(yield* ScriptedConnector.events, "Attempt").map(([, t]) => t)).toEqual([0, 10, 30])
      // still matched by its tag
      expect(yield* Effect.succeed(error).pipe(Effect.flip, Effect.catchTag("ConnectionRefused", (e) => Effect.succeed(e.attempts))))
        .toBe(3)
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED")] }))))

  it.effect("a permanent error after some retries also says how many attempts there were", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "10 millis", maxAttempts: 10 })),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(ConnectError.PermissionDenied)
      expect(error).toMatchObject({ _tag: "PermissionDenied", reason: "prohibited", attempts: 3, transient: false })
      expect(error.message).toContain("failed with EACCES after 3 attempts")
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.fail("EACCES")]
    }))))

  it.effect("per-tag overrides: NotFound made permanent, HostNotFound made transient", () =>
    Effect.gen(function*() {
      const sock = Address.unix("/run/app.sock")
      const fiber = yield* Connector.connect(sock).pipe(
        Policy.retryTransient(Policy.backoff({ base: "10 millis", maxAttempts: 5 }), { retry: { NotFound: false } }),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "NotFound", errno: "ENOENT", transient: true })
      expect(at(yield* ScriptedConnector.events, "Attempt")).toHaveLength(1)

      const named = yield* Connector.connect(Address.tcp("not.yet", 1)).pipe(
        Policy.retryTransient(Policy.backoff({ base: "10 millis", maxAttempts: 4 }), { retry: { HostNotFound: true } }),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(named)).toMatchObject({ _tag: "HostNotFound", host: "not.yet" })
    }).pipe(Effect.provide(ScriptedConnector.layer({ "unix:///run/app.sock": [ScriptedConnector.fail("ENOENT")] }))))

  it.effect("each attempt sees its number", () =>
    Effect.gen(function*() {
      const seen: Array<number> = []
      const fiber = yield* Effect.forkChild(
        Effect.flatMap(Policy.currentAttempt, (n) => {
          seen.push(n)
          return n < 3 ? Effect.fail(new Error("again") as Error & { transient: true }) : Effect.succeed(n)
        }).pipe(Effect.mapError((e) => Object.assign(e, { transient: true as const })), Policy.retryTransient(Schedule.spaced("1 millis")))
      )
      yield* TestClock.adjust("10 millis")
      expect(yield* Fiber.join(fiber)).toBe(3)
      expect(seen).toEqual([1, 2, 3])
    }))
})

describe("Policy.backoff", () => {
  it.effect("exponential with a cap", () =>
    Effect.gen(function*() {
      expect(yield* delays(Policy.backoff({ base: "50 millis", cap: "300 millis" }), 6)).toEqual([50, 100, 200, 300, 300, 300])
      expect(yield* delays(Policy.backoff({ base: "10 millis", factor: 3 }), 4)).toEqual([10, 30, 90, 270])
    }))

  it.effect("full, equal and decorrelated jitter stay in their bounds, reproducibly for a seed", () =>
    Effect.gen(function*() {
      const full = yield* delays(Policy.backoff({ base: "100 millis", cap: "1 second", jitter: "full" }), 200)
      full.forEach((d, i) => expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** i)))
      expect(new Set(full).size).toBeGreaterThan(50)
      const equal = yield* delays(Policy.backoff({ base: "100 millis", cap: "1 second", jitter: "equal" }), 200)
      equal.forEach((d, i) => {
        const exact = Math.min(1000, 100 * 2 ** i)
        expect(d).toBeGreaterThanOrEqual(Math.floor(exact / 2))
        expect(d).toBeLessThanOrEqual(exact)
      })
      const decorrelated = yield* delays(Policy.backoff({ base: "100 millis", cap: "1 second", jitter: "decorrelated" }), 200)
      decorrelated.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(100)
        expect(d).toBeLessThanOrEqual(i === 0 ? 300 : Math.min(1000, decorrelated[i - 1]! * 3 + 1))
      })
      const again = yield* delays(Policy.backoff({ base: "100 millis", cap: "1 second", jitter: "full" }), 200)
        .pipe(Random.withSeed(7))
      const same = yield* delays(Policy.backoff({ base: "100 millis", cap: "1 second", jitter: "full" }), 200)
        .pipe(Random.withSeed(7))
      expect(again).toEqual(same)
    }))

  it.effect("maxElapsed stops retrying once the time is up", () =>
    Effect.gen(function*() {
      let attempts = 0
      const fiber = yield* Effect.forkChild(
        Effect.suspend(() => {
          attempts++
          return Effect.fail({ _tag: "ConnectionRefused", transient: true })
        }).pipe(Policy.retryTransient(Policy.backoff({ base: "100 millis", maxElapsed: "1 second" })), Effect.flip)
      )
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      // Schedule.upTo semantics: retries at 100, 300, 700 and 1500 ms (decided at 700 ms, still
      // inside the second); at 1500 ms the time is up
      expect(attempts).toBe(5)
    }))
})

describe("Policy.backoff with options it cannot use", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string, string]> = [
    ["jitter", { base: "10 millis", jitter: "bogus" }, "backoff.jitter", "must be one of none, full, equal, decorrelated, got \"bogus\""],
    ["cap", { base: "10 millis", cap: "bogus" }, "backoff.cap", "must be a duration such as \"2 seconds\" or a number of milliseconds, got \"bogus\""],
    ["base Infinity", { base: Infinity }, "backoff.base", "must be finite, got Infinity"],
    ["base negative", { base: -5 }, "backoff.base", "must not be negative, got -5"],
    ["base NaN", { base: NaN }, "backoff.base", "must be a duration, got NaN"],
    ["base missing", {}, "backoff.base", "must be a duration such as \"2 seconds\" or a number of milliseconds, got undefined"],
    ["cap negative", { base: 10, cap: "-1 seconds" }, "backoff.cap", "must not be negative, got \"-1 seconds\""],
    ["factor 1", { base: 10, factor: 1 }, "backoff.factor", "must be a finite number above 1, got 1"],
    ["factor NaN", { base: 10, factor: NaN }, "backoff.factor", "must be a finite number above 1, got NaN"],
    ["maxAttempts 1.5", { base: 10, maxAttempts: 1.5 }, "backoff.maxAttempts", "must be a whole number, at least 1, got 1.5"],
    ["maxAttempts 0", { base: 10, maxAttempts: 0 }, "backoff.maxAttempts", "must be a whole number, at least 1, got 0"],
    ["maxElapsed", { base: 10, maxElapsed: NaN }, "backoff.maxElapsed", "must be a duration, got NaN"],
    ["options", null, "backoff.options", "must be an object with at least base"]
  ]
  for (const [name, options, option, reason] of cases) {
    it.effect(`${name}: retryTransient fails with InvalidOption before any attempt`, () =>
      Effect.gen(function*() {
        const schedule = Policy.backoff(options as Policy.BackoffOptions)
        const error = yield* Connector.connect(pg).pipe(Policy.retryTransient(schedule), Effect.flip)
        expect(error).toBeInstanceOf(ConnectError.InvalidOption)
        expect(error).toMatchObject({ _tag: "InvalidOption", option, reason, transient: false })
        expect(yield* ScriptedConnector.events).toEqual([])
        // used as a plain schedule it stops at once: no die, no hang
        expect(yield* Effect.exit(Effect.retry(Effect.fail("x"), schedule))).toEqual(Exit.fail("x"))
      }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.succeed()] }))))
  }
})

describe("timeouts", () => {
  const refused = "the peer refused the connection (nothing is listening on that port)"

  it.effect("a per-attempt timeout fails with TimedOut from our deadline, says so, and interrupts the attempt", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg, { timeout: "2 seconds" }).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({
        _tag: "TimedOut", errno: "ETIMEDOUT", source: "deadline", scope: "attempt", elapsed: 2000,
        address: "tcp://127.0.0.1:5432", transient: true
      })
      expect(error.message).toBe("connect tcp://127.0.0.1:5432: the per-attempt timeout of 2.0 s passed before the connect finished")
      expect(at(yield* ScriptedConnector.events, "Interrupted")).toEqual([["tcp://127.0.0.1:5432", 2000]])
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.hang] }))))

  it.effect("a timed-out attempt is retried; an overall deadline ends the whole loop and says which attempt was stopped", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg, { timeout: "1 second" }).pipe(
        Policy.retryTransient(Policy.backoff({ base: "500 millis", cap: "500 millis" })),
        Policy.deadline("3.5 seconds"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TimedOut", source: "deadline", scope: "overall", attempts: 3, elapsed: 3500 })
      expect(error.message).toBe(
        "connect tcp://127.0.0.1:5432: gave up after 3.5 s during attempt 3; attempt 2 was stopped: " +
          "the per-attempt timeout of 1.0 s passed before the connect finished"
      )
      const events = yield* ScriptedConnector.events
      expect(at(events, "Attempt").map(([, t]) => t)).toEqual([0, 1500, 3000])
      expect(at(events, "Interrupted").map(([, t]) => t)).toEqual([1000, 2500, 3500])
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.hang] }))))

  it.effect("a deadline over refused retries keeps the last error and the attempt count, never the kernel's ETIMEDOUT story", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "50 millis" })),
        Policy.deadline("1 second"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      // attempts at 0, 50, 150, 350 and 750 ms; the next would be at 1550
      expect(error).toMatchObject({
        _tag: "TimedOut", errno: "ETIMEDOUT", source: "deadline", scope: "overall", address: "tcp://127.0.0.1:5432",
        attempts: 5, elapsed: 1000, transient: true
      })
      expect(error._tag === "TimedOut" && error.cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(error).toHaveProperty("cause", expect.objectContaining({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", attempts: 5 }))
      expect(error.message).toBe(`connect tcp://127.0.0.1:5432: gave up after 1.0 s and 5 attempts; the last failed with ECONNREFUSED: ${refused}`)
      expect(error.message).not.toMatch(/did not answer|kernel|ETIMEDOUT/)
      expect(yield* Effect.fail(error).pipe(Effect.catchTag("TimedOut", (e) => Effect.succeed(e.source)))).toBe("deadline")
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED")] }))))

  it.effect("a deadline that passes while an attempt is in flight says which attempt failed last", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "100 millis" })),
        Policy.deadline("1 second", "db"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TimedOut", address: "db", attempts: 2, cause: { _tag: "ConnectionRefused", attempts: 1 } })
      expect(error.message).toBe(
        `connect db: gave up after 1.0 s during attempt 2; attempt 1, connect tcp://127.0.0.1:5432, failed with ECONNREFUSED: ${refused}`
      )
      expect(at(yield* ScriptedConnector.events, "Interrupted")).toEqual([["tcp://127.0.0.1:5432", 1000]])
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.hang]
    }))))

  it.effect("a deadline before any attempt finished says so", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(pg).pipe(Policy.deadline("1 second"), Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TimedOut", source: "deadline", scope: "overall", attempts: 1, elapsed: 1000 })
      expect(error).not.toHaveProperty("cause")
      expect(error.message).toBe("connect tcp://127.0.0.1:5432: gave up after 1.0 s: the first attempt had not finished")
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.hang] }))))

  // Node fires a timer by its loop's millisecond time, which can read up to 1 ms behind the clocks
  // (seen: "timed out after 999ms" for a 1 s deadline); a wall clock can also be set back meanwhile.
  it.effect("a deadline that passed says it waited at least its length, whatever the clocks read", () =>
    Effect.gen(function*() {
      const stopped: Clock.Clock = {
        currentTimeMillisUnsafe: () => 5_000,
        currentTimeMillis: Effect.succeed(5_000),
        currentTimeNanosUnsafe: () => 5_000_000_000n,
        currentTimeNanos: Effect.succeed(5_000_000_000n),
        monotonicTimeNanosUnsafe: () => 7n,
        monotonicTimeNanos: Effect.succeed(7n),
        sleep: () => Effect.void
      }
      const error = yield* Connector.connect(pg).pipe(
        Policy.deadline("1 second"),
        Effect.flip,
        Effect.provideService(Clock.Clock, stopped)
      )
      expect(error).toMatchObject({ _tag: "TimedOut", source: "deadline", scope: "overall", elapsed: 1000 })
      expect(error.message).toBe("connect tcp://127.0.0.1:5432: gave up after 1.0 s: the first attempt had not finished")
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.hang] }))))

  it.effect("a unix path's diagnosis survives the deadline", () =>
    Effect.gen(function*() {
      const diagnosis = { component: "/run/missing", problem: "missing-directory" } as const
      const fiber = yield* Effect.catchTag(
        Connector.connect(Address.unix("/run/missing/app.sock")),
        "NotFound",
        (e) => Effect.fail(new ConnectError.NotFound({ ...e, diagnosis }))
      ).pipe(
        Policy.retryTransient(Policy.backoff({ base: "100 millis", cap: "100 millis" })),
        Policy.deadline("250 millis"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("250 millis")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TimedOut", attempts: 3, cause: { _tag: "NotFound", diagnosis, transient: true } })
      expect(error.message).toBe(
        "connect unix:///run/missing/app.sock: gave up after 250 ms and 3 attempts; the last failed with ENOENT: " +
          "/run/missing: this directory does not exist"
      )
    }).pipe(Effect.provide(ScriptedConnector.layer({ "unix:///run/missing/app.sock": [ScriptedConnector.fail("ENOENT")] }))))

  it.effect("a deadline over anything else counts the retry loop's tries", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fail({ _tag: "Busy", transient: true, message: "the server said busy" }).pipe(
        Policy.retryTransient(Schedule.spaced("300 millis")),
        Policy.deadline("1 second"),
        Effect.flip,
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toMatchObject({ _tag: "TimedOut", attempts: 4, address: "", cause: { _tag: "Busy" } })
      expect(error.message).toBe("connect (no address): gave up after 1.0 s and 4 attempts; the last failed: the server said busy")
    }))

  it.effect("a deadline that is not a duration is InvalidOption, and nothing runs", () =>
    Effect.gen(function*() {
      let ran = false
      const error = yield* Effect.sync(() => (ran = true)).pipe(Policy.deadline("soon" as Duration.Input), Effect.flip)
      expect(error).toMatchObject({
        _tag: "InvalidOption", option: "deadline",
        reason: "must be a duration such as \"2 seconds\" or a number of milliseconds, got \"soon\""
      })
      expect(ran).toBe(false)
    }))
})

describe("racing addresses (RFC 8305)", () => {
  const hosts = { "db.internal": ["::1", "127.0.0.1"] }
  const db = Address.tcp("db.internal", 5432)

  it.effect("::1 hangs: 127.0.0.1 starts after the 250 ms stagger, wins, and ::1 is interrupted", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Connector.connect(db))
      yield* TestClock.adjust("250 millis")
      const connection = yield* Fiber.join(fiber)
      expect(connection.remote).toEqual(Address.tcp("127.0.0.1", 5432))
      const events = yield* ScriptedConnector.events
      expect(at(events, "Attempt")).toEqual([["tcp://[::1]:5432", 0], ["tcp://127.0.0.1:5432", 250]])
      expect(at(events, "Interrupted")).toEqual([["tcp://[::1]:5432", 250]])
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://[::1]:5432": [ScriptedConnector.hang],
      "tcp://127.0.0.1:5432": [ScriptedConnector.succeed()]
    }, hosts))))

  it.effect("::1 refused at once: 127.0.0.1 starts without waiting for the stagger", () =>
    Effect.gen(function*() {
      const connection = yield* Connector.connect(db)
      expect(connection.remote).toEqual(Address.tcp("127.0.0.1", 5432))
      expect(at(yield* ScriptedConnector.events, "Attempt")).toEqual([["tcp://[::1]:5432", 0], ["tcp://127.0.0.1:5432", 0]])
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://[::1]:5432": [ScriptedConnector.fail("ECONNREFUSED")],
      "tcp://127.0.0.1:5432": [ScriptedConnector.succeed()]
    }, hosts))))

  it.effect("whatever connected and lost is released at once, the winner on scope close", () =>
    Effect.gen(function*() {
      const winner = yield* Effect.scoped(Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Connector.connect(db, { attemptDelay: "100 millis" }))
        yield* TestClock.adjust("300 millis")
        const connection = yield* Fiber.join(fiber)
        const events = yield* ScriptedConnector.events
        const won = Address.format(connection.remote)
        const lost = at(events, "Connected").map(([a]) => a).filter((a) => a !== won)
        expect(at(events, "Released").map(([a]) => a)).toEqual(lost)
        return won
      }))
      const events = yield* ScriptedConnector.events
      expect(at(events, "Released").map(([a]) => a).sort()).toEqual(at(events, "Connected").map(([a]) => a).sort())
      expect(at(events, "Released").map(([a]) => a)).toContain(winner)
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://[::1]:5432": [ScriptedConnector.succeed("300 millis")],
      "tcp://127.0.0.1:5432": [ScriptedConnector.succeed("200 millis")]
    }, hosts))))

  it.effect("all fail: one error keeps each attempt's address, typed error and elapsed time", () =>
    Effect.gen(function*() {
      const fiber = yield* Connector.connect(db).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("AllAttemptsFailed")
      if (error._tag !== "AllAttemptsFailed") return
      expect(error.transient).toBe(true)
      expect(error.attempts.map((a) => [a.address, a.error._tag, Duration.toMillis(a.startedAfter), Duration.toMillis(a.elapsed)]))
        .toEqual([
          ["tcp://[::1]:5432", "NetworkUnreachable", 0, 100],
          ["tcp://127.0.0.1:5432", "ConnectionRefused", 100, 50]
        ])
      expect(error.message).toContain("ENETUNREACH")
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://[::1]:5432": [ScriptedConnector.fail("ENETUNREACH", "100 millis")],
      "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED", "50 millis")]
    }, hosts))))

  it.effect("an unknown name is HostNotFound, before any attempt", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Connector.connect(Address.tcp("nowhere.internal", 1)))
      expect(error).toMatchObject({ _tag: "HostNotFound", host: "nowhere.internal" })
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}, hosts))))
})

describe("input and observability", () => {
  it.effect("bad input is InvalidAddress before any attempt", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", 0))))
        .toMatchObject({ _tag: "InvalidAddress", field: "port" })
      expect(yield* Effect.flip(Connector.connect(Address.unspecified))).toMatchObject({ _tag: "InvalidAddress", field: "family" })
      expect(yield* Effect.flip(Connector.connect(Address.unix("/x"), { local: { port: 1 } })))
        .toMatchObject({ _tag: "InvalidAddress", field: "option" })
      expect(yield* Effect.flip(Connector.connect(pg, { local: { port: 65536 } })))
        .toMatchObject({ _tag: "InvalidAddress", field: "option", reason: "local.port must be a whole number from 0 to 65535, got 65536" })
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}))))

  it.effect("a timeout or attempt delay that is not a duration is InvalidAddress for the option, before any attempt", () =>
    Effect.gen(function*() {
      const bogus = "bogus" as Duration.Input
      expect(yield* Effect.flip(Connector.connect(pg, { timeout: bogus }))).toMatchObject({
        _tag: "InvalidAddress", input: "tcp://127.0.0.1:5432", field: "option",
        reason: "timeout must be a duration such as \"2 seconds\" or a number of milliseconds, got \"bogus\""
      })
      expect(yield* Effect.flip(Connector.connect(Address.tcp("db.internal", 5432), { attemptDelay: bogus }))).toMatchObject({
        _tag: "InvalidAddress", field: "option",
        reason: "attemptDelay must be a duration such as \"2 seconds\" or a number of milliseconds, got \"bogus\""
      })
      expect(yield* Effect.flip(Connector.connect(pg, { timeout: -1 })))
        .toMatchObject({ _tag: "InvalidAddress", field: "option", reason: "timeout must not be negative, got -1" })
      expect(yield* Effect.flip(Connector.connect(pg, { timeout: NaN })))
        .toMatchObject({ _tag: "InvalidAddress", field: "option", reason: "timeout must be a duration, got NaN" })
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}, { "db.internal": ["127.0.0.1", "::1"] }))))

  // The series' OpenTelemetry attributes beside `outcome`: a scripted connect to 127.0.0.1.
  const overIpv4 = { "network.transport": "tcp", "network.type": "ipv4" }
  const refusedOverIpv4 = { "error.type": "ConnectionRefused", ...overIpv4 }
  // An attempt span's OpenTelemetry attributes for tcp://127.0.0.1:7.
  const semconvOf7 = {
    "server.address": "127.0.0.1", "server.port": 7, "network.peer.address": "127.0.0.1", "network.peer.port": 7, ...overIpv4
  }

  it.effect("a latency histogram per outcome, beside the attempts counter", () =>
    Effect.gen(function*() {
      const refused = Metric.withAttributes(Connector.latency, { outcome: "ConnectionRefused", ...refusedOverIpv4 })
      const ok = Metric.withAttributes(Connector.latency, { outcome: "ok", ...overIpv4 })
      const before = [yield* Metric.value(refused), yield* Metric.value(ok)]
      const fiber = yield* Connector.connect(Address.tcp("127.0.0.1", 8)).pipe(
        Policy.retryTransient(Schedule.spaced("1 millis")),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      const after = [yield* Metric.value(refused), yield* Metric.value(ok)]
      expect(after[0]!.count - before[0]!.count).toBe(1)
      expect(after[0]!.sum - before[0]!.sum).toBeCloseTo(0.25, 9)
      expect(after[1]!.count - before[1]!.count).toBe(1)
      expect(after[1]!.sum - before[1]!.sum).toBeCloseTo(0.5, 9)
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:8": [ScriptedConnector.fail("ECONNREFUSED", "250 millis"), ScriptedConnector.succeed("500 millis")]
    }))))

  it.effect("counts attempts by outcome", () =>
    Effect.gen(function*() {
      const refused = Metric.withAttributes(Connector.attempts, { outcome: "ConnectionRefused", ...refusedOverIpv4 })
      const ok = Metric.withAttributes(Connector.attempts, { outcome: "ok", ...overIpv4 })
      const before = [(yield* Metric.value(refused)).count, (yield* Metric.value(ok)).count]
      const fiber = yield* Connector.connect(Address.tcp("127.0.0.1", 7)).pipe(
        Policy.retryTransient(Schedule.spaced("1 millis")),
        Effect.forkChild
      )
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(fiber)
      expect([(yield* Metric.value(refused)).count, (yield* Metric.value(ok)).count])
        .toEqual([before[0]! + 2, before[1]! + 1])
      expect(Exit.isSuccess(yield* Effect.exit(Effect.void))).toBe(true)
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:7": [ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.succeed()]
    }))))

  it.effect("a span per attempt, with its address, attempt and outcome, and one for the loop, when a tracer is installed", () => {
    const { tracer: recording, spans } = recordingTracer()
    return Effect.gen(function*() {
      const fiber = yield* Connector.connect(Address.tcp("127.0.0.1", 7)).pipe(
        Policy.retryTransient(Schedule.spaced("1 millis")),
        Effect.withTracer(recording),
        Effect.forkChild
      )
      yield* TestClock.adjust("10 millis")
      yield* Fiber.join(fiber)
      expect(spans.filter((s) => s.name === "effect-connect.connect").map((s) => Object.fromEntries(s.attributes)))
        .toEqual([
          {
            "connect.address": "tcp://127.0.0.1:7", "connect.attempt": 1, "connect.outcome": "ConnectionRefused", "connect.errno": "ECONNREFUSED",
            ...semconvOf7, "error.type": "ConnectionRefused"
          },
          {
            "connect.address": "tcp://127.0.0.1:7", "connect.attempt": 2, "connect.outcome": "ok", "connect.local": "tcp://127.0.0.1:40001",
            ...semconvOf7, "network.local.address": "127.0.0.1", "network.local.port": 40001
          }
        ])
      expect(spans.every((s) => s.status._tag === "Ended")).toBe(true)
      // one span around the whole loop, the attempts' parent
      const loop = spans.filter((s) => s.name === "effect-connect.retry")
      expect(loop.map((s) => Object.fromEntries(s.attributes))).toEqual([{ "retry.attempts": 2, "retry.outcome": "ok" }])
      expect(spans.filter((s) => s.name === "effect-connect.connect").every((s) =>
        s.parent._tag === "Some" && s.parent.value.spanId === loop[0]!.spanId
      )).toBe(true)
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:7": [ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.succeed()]
    })))
  })
})

describe("the spans around the policies' loops", () => {
  // A unix path's diagnosis is added by UnixConnector around the Connector, after the attempt's
  // span has ended: the loop's span is where a trace shows it.
  it.effect("a loop that gives up says the last error's tag, errno and unix path diagnosis", () => {
    const { tracer: recording, spans } = recordingTracer()
    const missing = ConnectError.fromErrno("ENOENT", {
      kind: "unix",
      syscall: "connect",
      address: "/run/app/app.sock",
      platform: "linux",
      diagnosis: { component: "/run/app/app.sock", problem: "missing-socket" }
    })
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.fail(missing).pipe(
        Policy.retryTransient(Policy.backoff({ base: "0 millis", maxAttempts: 2 })),
        Effect.withTracer(recording)
      ))
      expect(exit).toMatchObject({ _tag: "Failure" })
      expect(spans.map((s) => [s.name, Object.fromEntries(s.attributes)])).toEqual([["effect-connect.retry", {
        "retry.attempts": 2,
        "retry.outcome": "NotFound",
        "error.type": "NotFound",
        "connect.errno": "ENOENT",
        "connect.diagnosis.component": "/run/app/app.sock",
        "connect.diagnosis.problem": "missing-socket"
      }]])
    })
  })

  it.effect("a deadline is one span around the retry loop: the attempts it saw, and its TimedOut", () => {
    const { tracer: recording, spans } = recordingTracer()
    return Effect.gen(function*() {
      const fiber = yield* Connector.connect(Address.tcp("127.0.0.1", 9)).pipe(
        Policy.retryTransient(Schedule.spaced("100 millis")),
        Policy.deadline("250 millis"),
        Effect.withTracer(recording),
        Effect.forkChild
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(Fiber.join(fiber))).toMatchObject({ _tag: "TimedOut", attempts: 3 })
      const [outer] = spans.filter((s) => s.name === "effect-connect.deadline")
      const [loop] = spans.filter((s) => s.name === "effect-connect.retry")
      expect(Object.fromEntries(outer!.attributes)).toEqual({
        "deadline.attempts": 3, "deadline.outcome": "TimedOut", "error.type": "TimedOut", "connect.errno": "ETIMEDOUT"
      })
      expect(Object.fromEntries(loop!.attributes)).toEqual({ "retry.attempts": 3, "retry.outcome": "interrupted" })
      expect(loop!.parent._tag === "Some" && loop!.parent.value.spanId).toBe(outer!.spanId)
      expect(spans.filter((s) => s.name === "effect-connect.connect").map((s) => s.parent._tag === "Some" && s.parent.value.spanId))
        .toEqual([loop!.spanId, loop!.spanId, loop!.spanId])
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:9": [ScriptedConnector.fail("ECONNREFUSED")] })))
  })
})

describe("Connector: each attempt's debug line", () => {
  // Built only when a debug line can be written (the message and annotations cost more than a
  // failed loopback connect); at Debug, every failed attempt writes one.
  const logged = (level: LogLevel.LogLevel) =>
    Effect.gen(function*() {
      const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ fiber, message }) => {
        lines.push({ message, annotations: { ...fiber.getRef(References.CurrentLogAnnotations) } })
      })
      yield* Connector.connect(pg).pipe(
        Policy.retryTransient(Policy.backoff({ base: "1 millis", maxAttempts: 2 })),
        Effect.flip,
        Effect.scoped,
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, level),
        Effect.forkChild,
        Effect.tap(() => TestClock.adjust("1 second")),
        Effect.flatMap(Fiber.join)
      )
      return lines
    }).pipe(Effect.provide(ScriptedConnector.layer({
      "tcp://127.0.0.1:5432": [ScriptedConnector.fail("ECONNREFUSED"), ScriptedConnector.fail("ECONNREFUSED")]
    })))
  it.effect("at Debug: one line per failed attempt, with the address and the attempt", () =>
    Effect.gen(function*() {
      const lines = yield* logged("Debug")
      expect(lines.map((l) => [String(l.message).startsWith("connect failed: "), l.annotations])).toEqual([
        [true, { address: "tcp://127.0.0.1:5432", attempt: 1 }],
        [true, { address: "tcp://127.0.0.1:5432", attempt: 2 }]
      ])
    }))
  it.effect("at Info: none", () =>
    Effect.gen(function*() {
      expect(yield* logged("Info")).toEqual([])
    }))
})
