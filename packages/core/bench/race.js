// Policy.race under many candidates (RFC 8305 racing over a name with many addresses): for N =
// 10, 100, 1,000 and 10,000 candidates, the total time of a race whose attempts all fail at once,
// the time to interrupt a race whose N attempts are all in flight (each holding a resource in its
// scope, all released), and the lag of a 1 ms timer meanwhile (p99 and max, in ms); with the heap
// each failed candidate leaves and each attempt in flight holds. The curve must be linear and the
// lag flat. Each measurement runs in a fresh child process (its own heap, warmed up by a first
// run, and killed after RACE_LIMIT_S seconds if it holds the loop), after `npx tsc -b packages/core`.
//
//   node packages/core/bench/race.js                  the table
//   node packages/core/bench/race.js one <kind> <N>   one measurement (a child of the bench):
//                                                     kind "fail", "interrupt" or "idle"; prints JSON
//   RACE_POLICY=<module path>                         measure the Policy that module exports (another
//                                                     build of Policy.race, to compare) in place of dist's
//   RACE_LIMIT_S=<seconds>                            a child's time limit (default 120)
//   BENCH_ROWS=race                                   from `npm run bench`: only this table (connect or clients: none of it)
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { performance } from "node:perf_hooks"
import { setImmediate as turn } from "node:timers/promises"
import { Effect, Exit, Fiber } from "effect"

// Part of `npm run bench`, after the connect rows: BENCH_ROWS=connect|clients leaves it out.
const rows = process.env.BENCH_ROWS ?? "all"
if (rows !== "all" && rows !== "race" && process.argv[2] !== "one") process.exit(0)

const sizes = [10, 100, 1_000, 10_000]
const limit = Number(process.env.RACE_LIMIT_S ?? 120)

// A 1 ms timer, re-armed each time it fires: its lag is how late it fired. Stopping it counts the
// pending one too (how late it already is), so a race that holds the loop to its end shows.
const lagMonitor = () => {
  const lags = []
  let due = performance.now() + 1
  let timer
  const tick = () => {
    const now = performance.now()
    lags.push(Math.max(0, now - due))
    due = now + 1
    timer = setTimeout(tick, 1)
  }
  timer = setTimeout(tick, 1)
  return () => {
    clearTimeout(timer)
    lags.push(Math.max(0, performance.now() - due))
    return lags
  }
}

const summary = (lags) => {
  const sorted = [...lags].sort((a, b) => a - b)
  return { lagP99: sorted[Math.ceil(sorted.length * 0.99) - 1], lagMax: sorted[sorted.length - 1] }
}

const candidatesOf = (n) => Array.from({ length: n }, (_, i) => i)

const heapUsed = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

const measurements = {
  // N candidates that each fail at once: the race runs them all, one after the other.
  fail: async (race, n) => {
    let attempts = 0
    const before = heapUsed()
    const lag = lagMonitor()
    const start = performance.now()
    const exit = await Effect.runPromise(Effect.exit(Effect.scoped(
      race(candidatesOf(n), (c) => Effect.suspend(() => (attempts++, Effect.fail(c))), { describe: String })
    )))
    const total = performance.now() - start
    const lagged = summary(lag())
    const failed = Exit.isFailure(exit) ? exit.cause.reasons[0]?.error?.attempts?.length : undefined
    const wrong = attempts === n && failed === n ? undefined
      : `${attempts} attempts, ${Exit.isFailure(exit) ? `${exit.cause.reasons.length} ${exit.cause.reasons[0]._tag}` : "a success"}`
    return { total, ...lagged, heapPerCandidateKB: (heapUsed() - before) / n / 1024, wrong, keep: exit }
  },
  // N attempts in flight (delay 0: each starts one turn after the previous), each holding a
  // resource in its scope; then the race is interrupted, which must release all of them.
  interrupt: async (race, n) => {
    let started = 0
    let released = 0
    const attempt = () =>
      Effect.acquireRelease(Effect.sync(() => started++), () => Effect.sync(() => released++)).pipe(Effect.andThen(Effect.never))
    const before = heapUsed()
    // The lag while they start, and while they are interrupted: not during the heap's measure
    // (a full collection).
    const startLag = lagMonitor()
    const begin = performance.now()
    const fiber = Effect.runFork(Effect.scoped(race(candidatesOf(n), attempt, { delay: 0, describe: String })))
    while (started < n) await turn()
    const startAll = performance.now() - begin
    const lags = startLag()
    const heapPerAttemptKB = (heapUsed() - before) / n / 1024
    const interruptLag = lagMonitor()
    const interruptStart = performance.now()
    await Effect.runPromise(Fiber.interrupt(fiber))
    const interrupt = performance.now() - interruptStart
    const lagged = summary([...lags, ...interruptLag()])
    return { startAll, interrupt, ...lagged, heapPerAttemptKB, wrong: released === n ? undefined : `${released} of ${n} released` }
  }
}

// What the machine does to a 1 ms timer with nothing running: the floor under the lag columns
// (shared machines have one).
const idle = async () => {
  const lag = lagMonitor()
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  return summary(lag())
}

const one = async (kind, n) => {
  if (kind === "idle") return process.stdout.write(JSON.stringify(await idle()) + "\n")
  const module = process.env.RACE_POLICY === undefined ? "../dist/index.js" : process.env.RACE_POLICY
  const { Policy } = await import(module)
  // A first run warms the JIT up: the table compares steady states, not compile times.
  await measurements[kind](Policy.race, Math.min(n, 1_000))
  const { keep: _, ...result } = await measurements[kind](Policy.race, n)
  process.stdout.write(JSON.stringify(result) + "\n")
}

// One measurement in a fresh process; undefined when it ran out of time.
const child = (kind, n) =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "one", kind, String(n)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    proc.stdout.on("data", (chunk) => out += chunk)
    const timer = setTimeout(() => proc.kill("SIGKILL"), limit * 1000)
    proc.on("exit", (code, signal) => {
      clearTimeout(timer)
      if (signal === "SIGKILL") resolve(undefined)
      else if (code === 0) resolve(JSON.parse(out))
      else reject(new Error(`${kind} ${n}: exit ${code}`))
    })
  })

const ms = (x) => x === undefined ? `> ${limit} s` : x < 10 ? x.toFixed(2) : x.toFixed(0)

const table = async () => {
  console.log(`Policy.race${process.env.RACE_POLICY === undefined ? "" : ` (${process.env.RACE_POLICY})`}, ms; lag = a 1 ms timer's lag p99 (max)`)
  const floor = await child("idle", 0)
  console.log(`idle: lag p99 ${ms(floor?.lagP99)} (${ms(floor?.lagMax)})`)
  console.log("N        all fail: total  lag p99 (max)  heap/cand   in flight: start  heap/att  interrupt  lag p99 (max)")
  for (const n of sizes) {
    const fail = await child("fail", n)
    const interrupt = await child("interrupt", n)
    console.log([
      String(n).padEnd(8),
      ms(fail?.total).padStart(16),
      `${ms(fail?.lagP99)} (${ms(fail?.lagMax)})`.padStart(14),
      (fail === undefined ? "" : `${fail.heapPerCandidateKB.toFixed(1)} KB`).padStart(9),
      ms(interrupt?.startAll).padStart(18),
      (interrupt === undefined ? "" : `${interrupt.heapPerAttemptKB.toFixed(1)} KB`).padStart(9),
      ms(interrupt?.interrupt).padStart(10),
      `${ms(interrupt?.lagP99)} (${ms(interrupt?.lagMax)})`.padStart(15),
      [fail?.wrong, interrupt?.wrong].filter((w) => w !== undefined).map((w) => `WRONG: ${w}`).join("; ")
    ].join(" "))
  }
}

if (process.argv[2] === "one") await one(process.argv[3], Number(process.argv[4]))
else await table()
