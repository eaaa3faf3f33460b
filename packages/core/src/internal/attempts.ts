// Who watches the attempts of a connect. An overall deadline installs a journal, and the retry
// loop and the Connector's dials under it write to it, so that when the deadline passes it can
// say how many attempts there were and what the last one failed with. Plain mutable counters:
// a write costs nothing on the success path, and dials racing in child fibers share the journal.
import { Context } from "effect"
import type { Address } from "../Address.js"

export interface Journal {
  /** Connects started by a Connector. */
  dials: number
  /** Iterations of a retry loop (what counts when no Connector is inside). */
  tries: number
  /** The address of the latest dial. */
  target: Address | undefined
  failed: boolean
  last: unknown
  /** `dials` and `tries` when `last` failed. */
  lastDials: number
  lastTries: number
}

export const journal = (): Journal => ({
  dials: 0,
  tries: 0,
  target: undefined,
  failed: false,
  last: undefined,
  lastDials: 0,
  lastTries: 0
})

export const current: Context.Reference<Journal | undefined> = Context.Reference<Journal | undefined>(
  "@effect-connect/core/internal/attempts/current",
  { defaultValue: () => undefined }
)

/**
 * An attempt failed. The retry loop sees the error its Connector's dial already wrote: then only
 * the loop's count moves, and the dial's stays the one the error belongs to.
 */
export const failed = (journal: Journal, error: unknown): void => {
  if (!journal.failed || journal.last !== error) {
    journal.failed = true
    journal.last = error
    journal.lastDials = journal.dials
  }
  journal.lastTries = journal.tries
}
