// Connects take turns on the event loop. The synchronous part of a connect (socket, options,
// bind, connect(2), and on loopback the whole handshake) costs tens of microseconds; ten
// thousand started at once would hold the loop for their sum, and Effect's scheduler runs
// every fiber that is ready in one callback of the loop, which lets no timer or I/O in between
// them. So connects start while the loop has been held for less than `sliceMs` since this
// turn's first connect, and connects beyond it wait for a later turn, first come first served.
//
// The slice is wall-clock time, not the connects' own: what runs between two connects (the
// fibers' own work, the scopes closing) holds the loop as much, and a timer's lag is the whole.
// A connect that has room costs plain calls, no effect and no closure: that is every connect
// but the ones that wait. With many connects in flight every connect waits (a fiber whose
// connect is done finds the others queued before its next one), so a wait costs one object in a
// plain array, not a Set entry and closures.
import { Effect } from "effect"

/**
 * A place in the queue. `go` starts it and says whether it took room in the turn; `done` once it
 * went or was cancelled.
 */
interface Waiter {
  done: boolean
  go(): boolean
}

// A waiter from `enter`: a plain callback.
class Entered implements Waiter {
  done = false
  constructor(private readonly callback: () => boolean | void) {}
  go(): boolean {
    return this.callback() !== false
  }
}

// A fiber parked by `waitThen`. Its resume runs the fiber at once, inside the call, up to its
// next wait: so `admitted` has run by the time `resume` returns exactly when the fiber took its
// turn; a fiber that was interrupted meanwhile ignores the resume and takes no room.
class Parked<A, E, R> implements Waiter {
  done = false
  constructor(
    private readonly turns: Turns,
    private readonly resume: (effect: Effect.Effect<A, E, R>) => void,
    private readonly then: Effect.Effect<A, E, R>
  ) {}
  go(): boolean {
    const started = this.turns.started
    this.resume(Effect.andThen(this.turns.admitted, this.then))
    return this.turns.started !== started
  }
}

export class Turns {
  /** When this turn's first connect started (on `now`, in milliseconds), or -1 before it. */
  private since = -1
  /** When the last connect started, to learn how far apart they are. */
  private last = -1
  /** A running average of the time between connects in a turn, to know how many waiters fit in one. */
  private cost = 0.05
  /** Connects counted as started, so that a parked fiber's waiter can tell whether it took its turn. */
  started = 0
  private scheduled = false
  /** First come first served from `head`; the slots before it are spent. */
  private queue: Array<Waiter | undefined> = []
  private head = 0
  /** Waiters queued and not done. */
  private waiting = 0
  private readonly next = () => this.nextTurn()

  constructor(private readonly sliceMs: number, private readonly now: () => number = () => performance.now()) {}

  /**
   * Whether a connect may start now (and counts it): nobody is waiting for a turn and this one
   * has been held for less than the slice.
   */
  enterNow(): boolean {
    if (this.waiting > 0) return false
    const now = this.now()
    if (this.since < 0) {
      this.since = now
      this.schedule()
    } else if (now - this.since >= this.sliceMs) {
      return false
    }
    this.starts(now)
    return true
  }

  /** Counts a connect that waited for its turn and starts now. */
  readonly admitted: Effect.Effect<void> = Effect.sync(() => this.starts(this.now()))

  // The time from a connect's start to the next one's in the same turn is what it costs the
  // loop, the fibers' own work in between included. Not the time to the next turn: that has the
  // rest of the loop's iteration in it (other callbacks, timers, I/O). And a sample counts for at
  // most a slice: a garbage collection or the process being descheduled between two connects is
  // no cost of theirs, and taken whole it would shrink the next turns to a waiter or two each: a
  // queue that drains that slowly is the latency's tail (with 64 connects in flight, one turn in
  // seven had room for fewer than ten).
  private starts(now: number): void {
    this.started++
    if (this.since >= 0 && this.last >= this.since) this.cost = this.cost * 0.9 + Math.min(now - this.last, this.sliceMs) * 0.1
    this.last = now
  }

  /**
   * Runs `then` in a later turn, first come first served, counted as a connect that starts then.
   * Interruptible when the caller is.
   *
   * A bare Effect.callback: no canceller, and a register that takes no AbortSignal. A canceller
   * costs a closure, an Effect and a finalizer frame per park (and on resumption a mask and its
   * restore), allocated per park and alive in the young generation while the fiber waits; a
   * signal costs an AbortController. An interrupted fiber leaves the wait by itself (its
   * interruption resumes it, and a later resume is ignored); its waiter stays queued until its
   * turn comes, and then takes no room in it.
   */
  waitThen<A, E, R>(then: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.callback<A, E, R>((resume) => this.push(new Parked(this, resume, then)))
  }

  /**
   * Calls `go` in a later turn, first come first served; returns the cancel. A `go` that returns
   * false no longer waited, and leaves its room in the turn to the next waiter.
   */
  enter(go: () => boolean | void): () => void {
    const waiter = new Entered(go)
    this.push(waiter)
    return () => {
      if (waiter.done) return
      waiter.done = true
      this.waiting--
    }
  }

  private push(waiter: Waiter): void {
    this.queue.push(waiter)
    this.waiting++
    this.schedule()
  }

  // One setImmediate per turn in use: it ends the turn, and starts the next with as many
  // waiters as the slice is likely to hold (each resumed fiber runs inside its `go`).
  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.next)
  }

  private nextTurn(): void {
    this.scheduled = false
    this.since = -1
    if (this.waiting === 0) {
      this.queue = []
      this.head = 0
      return
    }
    this.since = this.now()
    let room = Math.max(1, Math.floor(this.sliceMs / this.cost))
    // A waiter that a `go` queues (a fiber that connected and wants to again) goes last, and
    // still gets in this turn if room is left.
    while (room > 0 && this.head < this.queue.length) {
      const waiter = this.queue[this.head]!
      this.queue[this.head++] = undefined
      if (waiter.done) continue
      waiter.done = true
      this.waiting--
      if (waiter.go()) room--
    }
    // The spent slots go when they are most of the array, so that taking one stays O(1).
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    this.schedule()
  }
}
