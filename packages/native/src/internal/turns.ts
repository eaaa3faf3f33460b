// Connects take turns on the event loop. The synchronous part of a connect (socket, options,
// bind, connect(2), and on loopback the whole handshake) costs tens of microseconds; ten
// thousand started at once would hold the loop for their sum, and Effect's scheduler runs
// ready fibers in microtasks, which never let timers or I/O in. So about `sliceMs` of that work
// runs per loop turn, and connects beyond it wait for a later turn, first come first served.
import { Effect } from "effect"

export class Turns {
  /** Milliseconds of synchronous work done in this turn. */
  private used = 0
  /** A running average of one step's cost, to know how many waiters fit in a turn. */
  private cost = 0.02
  private scheduled = false
  private readonly waiting = new Set<() => void>()

  constructor(private readonly sliceMs: number) {}

  /**
   * Completes at once when this turn has room, else in a later turn. Interruptible; run the
   * step right after it, through `timed`.
   */
  readonly turn: Effect.Effect<void> = Effect.suspend(() =>
    this.waiting.size === 0 && this.used < this.sliceMs ? Effect.void : this.wait()
  )

  /** Runs the synchronous step and counts its time against the turn. */
  timed<A>(step: () => A): A {
    const start = performance.now()
    try {
      return step()
    } finally {
      const spent = performance.now() - start
      this.used += spent
      this.cost = this.cost * 0.9 + spent * 0.1
      this.schedule()
    }
  }

  private wait(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const go = () => resume(Effect.void)
      this.waiting.add(go)
      this.schedule()
      return Effect.sync(() => {
        this.waiting.delete(go)
      })
    })
  }

  // One setImmediate per turn in use: it starts the next turn and lets in as many waiters as
  // the slice is likely to hold (they run right after it, in microtasks).
  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.used = 0
      let room = Math.max(1, Math.floor(this.sliceMs / this.cost))
      for (const go of this.waiting) {
        if (room-- === 0) break
        this.waiting.delete(go)
        go()
      }
      if (this.waiting.size > 0) this.schedule()
    })
  }
}
