// Per-attempt timeouts of native connects, coalesced: one timer armed for the earliest deadline
// instead of one setTimeout and a racing fiber per attempt. Ten thousand attempts started together
// expire together; each expiry cancels a wait, resumes a fiber and closes an fd, and ten thousand
// of them in one timer callback would hold the loop for seconds. So about `sliceMs` of expiries
// run per loop turn, earliest first, like the connects themselves (see turns). What an expiry
// costs is mostly the woken fiber's work, which its resume runs at once, and what that work sets
// off: it is learnt from how long a pass held the loop, measured when the next pass starts.
import { Effect } from "effect"

/** One attempt under a deadline: the wait it is in, if any, is ended when the deadline passes. */
export class Attempt<E> {
  expired = false
  /** Ends the current wait with the timeout's error; set while the attempt waits. */
  wake: (() => void) | undefined = undefined
  /** Position in the queue's heap; -1 when not queued. */
  index = -1
  constructor(readonly at: number, readonly timedOut: () => E) {}
}

export class Deadlines {
  private readonly heap: Array<Attempt<unknown>> = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = Infinity
  private expiring = false
  /** A running average of what one expiry costs the loop, the woken fiber's work included (ms). */
  private cost = 0.05
  /** When the last pass that left expiries for the next began, and how many it took. */
  private passBegan = 0
  private passTook = 0
  private readonly fire = () => this.expire()

  constructor(private readonly sliceMs: number, private readonly now: () => number = () => performance.now()) {}

  /** An attempt whose deadline is `ms` from now, queued. */
  add<E>(ms: number, timedOut: () => E): Attempt<E> {
    const attempt = new Attempt(this.now() + ms, timedOut)
    attempt.index = this.heap.length
    this.heap.push(attempt)
    this.up(attempt.index)
    this.arm()
    return attempt
  }

  /** Takes an attempt that ended (any way) out of the queue. */
  remove(attempt: Attempt<unknown>): void {
    const i = attempt.index
    if (i < 0) return
    attempt.index = -1
    const last = this.heap.pop()!
    if (i < this.heap.length) {
      this.heap[i] = last
      last.index = i
      this.down(i)
      this.up(last.index)
    }
  }

  /**
   * A wait that the attempt's deadline can end: `start` begins it with the callback that ends it
   * and returns its cancel (or undefined when it ended at once). Interruption cancels it too.
   */
  within<A, E, T>(attempt: Attempt<T> | undefined, start: (done: (effect: Effect.Effect<A, E>) => void) => (() => void) | undefined) {
    return Effect.callback<A, E | T>((resume) => {
      if (attempt === undefined) {
        const cancel = start(resume)
        return cancel === undefined ? undefined : Effect.sync(cancel)
      }
      if (attempt.expired) return resume(Effect.fail(attempt.timedOut()))
      let cancel: (() => void) | undefined = undefined
      let ended = false
      attempt.wake = () => {
        attempt.wake = undefined
        if (ended) return
        ended = true
        cancel?.()
        resume(Effect.fail(attempt.timedOut()))
      }
      cancel = start((effect) => {
        if (ended) return
        ended = true
        attempt.wake = undefined
        resume(effect)
      })
      return Effect.sync(() => {
        attempt.wake = undefined
        if (ended) return
        ended = true
        cancel?.()
      })
    })
  }

  // The timer for the earliest deadline, unless one that fires no later is armed or an expiry
  // pass is already under way (it arms the timer when it is done).
  private arm(): void {
    if (this.expiring || this.heap.length === 0) return
    const at = this.heap[0].at
    if (this.timer !== undefined && this.timerAt <= at) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    // setTimeout takes at most 2^31 - 1 ms (more would fire at once); a later deadline re-arms.
    this.timer = setTimeout(this.fire, Math.min(2147483647, Math.max(1, Math.ceil(at - this.now()))))
    // A queued deadline must not keep the process alive: its attempt's wait does.
    this.timer.unref()
  }

  private expire(): void {
    this.timer = undefined
    this.timerAt = Infinity
    this.expiring = true
    const now = this.now()
    if (this.passTook > 0) this.cost = this.cost * 0.5 + ((now - this.passBegan) / this.passTook) * 0.5
    const room = Math.max(1, Math.floor(this.sliceMs / this.cost))
    let took = 0
    while (this.heap.length > 0 && this.heap[0].at <= now && took < room) {
      const attempt = this.heap[0]
      this.remove(attempt)
      attempt.expired = true
      attempt.wake?.()
      took++
    }
    this.expiring = false
    this.passTook = 0
    if (this.heap.length > 0 && this.heap[0].at <= now) {
      // The rest in the next turn; `expiring` keeps the timer off until then.
      this.expiring = true
      this.passBegan = now
      this.passTook = took
      setImmediate(this.fire)
    } else {
      this.arm()
    }
  }

  private up(i: number): void {
    const heap = this.heap
    const item = heap[i]
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent].at <= item.at) break
      heap[i] = heap[parent]
      heap[i].index = i
      i = parent
    }
    heap[i] = item
    item.index = i
  }

  private down(i: number): void {
    const heap = this.heap
    const item = heap[i]
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const child = left + 1 < heap.length && heap[left + 1].at < heap[left].at ? left + 1 : left
      if (heap[child].at >= item.at) break
      heap[i] = heap[child]
      heap[i].index = i
      i = child
    }
    heap[i] = item
    item.index = i
  }
}
