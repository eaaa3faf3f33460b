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
// but the ones that wait.
import { Effect } from "effect"

export class Turns {
  /** When this turn's first connect started (on `now`, in milliseconds), or -1 before it. */
  private since = -1
  /** When the last connect started, to learn how far apart they are. */
  private last = -1
  /** A running average of the time between connects in a turn, to know how many waiters fit in one. */
  private cost = 0.05
  /** Connects counted as started, so that a waiter can tell whether its fiber took its turn. */
  private started = 0
  private scheduled = false
  /** Each waiter's go: false when it no longer waits (its fiber was interrupted), so takes no room. */
  private readonly waiting = new Set<() => boolean | void>()
  private readonly next = () => this.nextTurn()

  constructor(private readonly sliceMs: number, private readonly now: () => number = () => performance.now()) {}

  /**
   * Whether a connect may start now (and counts it): nobody is waiting for a turn and this one
   * has been held for less than the slice.
   */
  enterNow(): boolean {
    if (this.waiting.size > 0) return false
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

  // The time from a connect's start to the next one's, or to the end of the turn, is what it
  // costs the loop, the fibers' own work in between included.
  private starts(now: number): void {
    this.started++
    this.measure(now)
    this.last = now
  }

  private measure(now: number): void {
    if (this.since >= 0 && this.last >= this.since) this.cost = this.cost * 0.9 + (now - this.last) * 0.1
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
   * turn comes. A resume runs the fiber at once, inside the call, up to its next wait: so
   * `admitted` has run by the time `resume` returns exactly when the fiber took its turn, and a
   * waiter whose fiber has gone takes no room in the turn.
   */
  waitThen<A, E, R>(then: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.callback<A, E, R>((resume) => {
      this.enter(() => {
        const started = this.started
        resume(Effect.andThen(this.admitted, then))
        return this.started !== started
      })
    })
  }

  /**
   * Calls `go` in a later turn, first come first served; returns the cancel. A `go` that returns
   * false no longer waited, and leaves its room in the turn to the next waiter.
   */
  enter(go: () => boolean | void): () => void {
    this.waiting.add(go)
    this.schedule()
    return () => {
      this.waiting.delete(go)
    }
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
    this.measure(this.now())
    this.since = -1
    if (this.waiting.size === 0) return
    this.since = this.now()
    let room = Math.max(1, Math.floor(this.sliceMs / this.cost))
    for (const go of this.waiting) {
      if (room === 0) break
      this.waiting.delete(go)
      if (go() !== false) room--
    }
    this.schedule()
  }
}
