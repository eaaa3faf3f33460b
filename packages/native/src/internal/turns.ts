// Connects take turns on the event loop. The synchronous part of a connect (socket, options,
// bind, connect(2), and on loopback the whole handshake) costs tens of microseconds; ten
// thousand started at once would hold the loop for their sum, and Effect's scheduler runs
// ready fibers in microtasks, which never let timers or I/O in. So about `sliceMs` of that work
// runs per loop turn, and connects beyond it wait for a later turn, first come first served.
// Plain calls, no effect and no closure per step: this runs on every connect.
import { Effect } from "effect"

export class Turns {
  /** Milliseconds of synchronous work done in this turn. */
  private used = 0
  /** A running average of one step's cost, to know how many waiters fit in a turn. */
  private cost = 0.02
  private scheduled = false
  private readonly waiting = new Set<() => void>()
  private readonly next = () => this.nextTurn()

  constructor(private readonly sliceMs: number) {}

  /** Whether a step may run now: this turn has room and nobody is waiting for one. */
  hasRoom(): boolean {
    return this.waiting.size === 0 && this.used < this.sliceMs
  }

  /** Completes in a later turn, first come first served. Interruptible. */
  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => Effect.sync(this.enter(() => resume(Effect.void))))

  /** Calls `go` in a later turn, first come first served; returns the cancel. */
  enter(go: () => void): () => void {
    this.waiting.add(go)
    this.schedule()
    return () => {
      this.waiting.delete(go)
    }
  }

  /** Counts a step that began at `start` (`performance.now()`) against the turn. */
  spent(start: number): void {
    const spent = performance.now() - start
    this.used += spent
    this.cost = this.cost * 0.9 + spent * 0.1
    this.schedule()
  }

  // One setImmediate per turn in use: it starts the next turn and lets in as many waiters as
  // the slice is likely to hold (they run right after it, in microtasks).
  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(this.next)
  }

  private nextTurn(): void {
    this.scheduled = false
    this.used = 0
    let room = Math.max(1, Math.floor(this.sliceMs / this.cost))
    for (const go of this.waiting) {
      if (room-- === 0) break
      this.waiting.delete(go)
      go()
    }
    if (this.waiting.size > 0) this.schedule()
  }
}
