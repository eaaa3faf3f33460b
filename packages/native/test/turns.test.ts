// The event-loop fairness of native connects, on a fake clock: which connects start in a turn
// and how many waiters the next turn lets in (Turns), and how many expired attempts one pass
// wakes (Deadlines). Timing-free: the clock only moves when a test moves it.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { Deadlines } from "../src/internal/deadlines.js"
import { Turns } from "../src/internal/turns.js"

const fakeClock = () => {
  let t = 1000
  return { now: () => t, advance: (ms: number) => void (t += ms) }
}
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("Turns: connects share the event loop by wall-clock time", () => {
  it("the time between connects counts against the slice, not only the connects' own", () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    // each connect is instant, but the fiber works 0.3 ms between two of them
    const started = Array.from({ length: 6 }, () => {
      const ok = turns.enterNow()
      clock.advance(0.3)
      return ok
    })
    // 0, 0.3, 0.6, 0.9 ms into the turn: in; 1.2 and 1.5: the loop has been held a slice
    expect(started).toEqual([true, true, true, true, false, false])
  })

  it("the next turn lets in as many waiters as the slice held connects, first come first served, then turns again", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    // a turn of connects 0.1 ms apart
    while (turns.enterNow()) clock.advance(0.1)
    const admitted: Array<number> = []
    for (let i = 0; i < 40; i++) turns.enter(() => void admitted.push(i))
    // nobody gets ahead of a waiter
    expect(turns.enterNow()).toBe(false)
    await nextTurn()
    // learnt from 0.1 ms apart (the running average starts at 0.05 ms): about ten, not one, not all
    expect(admitted.length).toBeGreaterThanOrEqual(5)
    expect(admitted.length).toBeLessThanOrEqual(20)
    expect(admitted).toEqual(Array.from({ length: admitted.length }, (_, i) => i))
    const first = admitted.length
    // the waiters admitted start, 0.1 ms apart as before
    for (let i = 0; i < first; i++) {
      clock.advance(0.1)
      Effect.runSync(turns.admitted)
    }
    await nextTurn()
    expect(admitted.length).toBeGreaterThan(first)
    for (let i = 0; i < 10 && admitted.length < 40; i++) await nextTurn()
    expect(admitted).toEqual(Array.from({ length: 40 }, (_, i) => i))
  })

  it("a pause between two connects (a garbage collection, the process descheduled) counts as a slice at most", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    while (turns.enterNow()) clock.advance(0.1)
    // one more connect of this turn, 50 ms later
    clock.advance(50)
    Effect.runSync(turns.admitted)
    const admitted: Array<number> = []
    for (let i = 0; i < 40; i++) turns.enter(() => void admitted.push(i))
    await nextTurn()
    // taken whole, the pause would make a connect cost 5 ms: one waiter a turn
    expect(admitted.length).toBeGreaterThanOrEqual(4)
  })

  it("the time until the next turn (the loop's other work) is no connect's cost", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    while (turns.enterNow()) clock.advance(0.1)
    const admitted: Array<number> = []
    for (let i = 0; i < 40; i++) turns.enter(() => void admitted.push(i))
    clock.advance(30)
    await nextTurn()
    expect(admitted.length).toBeGreaterThanOrEqual(5)
  })

  it("a cancelled waiter is skipped", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    while (turns.enterNow()) clock.advance(0.1)
    const admitted: Array<string> = []
    turns.enter(() => void admitted.push("a"))
    const cancel = turns.enter(() => void admitted.push("b"))
    turns.enter(() => void admitted.push("c"))
    cancel()
    await nextTurn()
    expect(admitted).toEqual(["a", "c"])
    // the queue is empty: a new turn has room again
    await nextTurn()
    expect(turns.enterNow()).toBe(true)
  })

  it("an interrupted fiber's wait ends at once, and its waiter takes no room in the next turn", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    while (turns.enterNow()) clock.advance(0.1)
    const started: Array<string> = []
    const waiter = (name: string) => turns.waitThen(Effect.sync(() => void started.push(name)))
    // room for exactly one waiter in the next turn: connects learnt to cost a whole slice
    for (let i = 0; i < 30; i++) Effect.runSync(turns.admitted.pipe(Effect.tap(() => Effect.sync(() => clock.advance(1)))))
    const a = Effect.runFork(waiter("a"))
    const b = Effect.runFork(waiter("b"))
    const exit = await Effect.runPromise(Effect.andThen(Fiber.interrupt(a), Fiber.await(a)))
    expect(Exit.hasInterrupts(exit)).toBe(true)
    await nextTurn()
    expect(started).toEqual(["b"])
    await Effect.runPromise(Fiber.join(b))
  })

  it("an uninterruptible wait still gets its turn when its fiber is interrupted", async () => {
    const clock = fakeClock()
    const turns = new Turns(1, clock.now)
    while (turns.enterNow()) clock.advance(0.1)
    const started: Array<string> = []
    const fiber = Effect.runFork(Effect.uninterruptible(turns.waitThen(Effect.sync(() => void started.push("a")))))
    const interrupted = Effect.runPromise(Effect.andThen(Fiber.interrupt(fiber), Fiber.await(fiber)))
    for (let i = 0; i < 10 && started.length === 0; i++) await nextTurn()
    expect(started).toEqual(["a"])
    expect(Exit.hasInterrupts(await interrupted)).toBe(true)
  })
})

describe("Deadlines: expiries are taken in slices whose size is learnt from what they cost", () => {
  it("attempts expiring together are woken over several turns, fewer per pass when each costs more", async () => {
    const clock = fakeClock()
    const deadlines = new Deadlines(1, clock.now)
    // wakes in one pass run in one go, in one callback of the loop; a microtask marks its end
    const used: Array<number> = []
    let inPass = false
    const attempts = Array.from({ length: 100 }, () => deadlines.add(5, () => "timed out"))
    for (const attempt of attempts) {
      attempt.wake = () => {
        if (!inPass) {
          inPass = true
          used.push(0)
          queueMicrotask(() => void (inPass = false))
        }
        used[used.length - 1]++
        // what the woken fiber does before the loop turns: 0.2 ms
        clock.advance(0.2)
      }
    }
    clock.advance(10)
    // the timer's own delay is real (5 ms); each later pass is a turn of the loop
    for (let i = 0; i < 200 && attempts.some((a) => !a.expired); i++) await new Promise((resolve) => setTimeout(resolve, 1))
    expect(used.reduce((a, b) => a + b, 0)).toBe(100)
    expect(attempts.every((a) => a.expired)).toBe(true)
    // the first pass guesses 0.05 ms an expiry (20 in 1 ms); learning 0.2 ms, later passes take fewer
    expect(used[0]).toBe(20)
    expect(used.length).toBeGreaterThan(5)
    expect(Math.max(...used.slice(2))).toBeLessThanOrEqual(10)
  })
})
