// A socket's operations that wait for readiness, in a queue per direction (reads, writes) on one
// watch of the fd, set to the directions that have waiters: libuv watches an fd once, so a send
// and a recv waiting together share the watch rather than each polling on its own.
//
// The queued operations' system calls run here, in queue order, when the watch says their
// direction is ready: the head's first, and the next ones only once it is done (the kernel's
// answer was anything but EAGAIN). So operations of one direction complete in the order they
// were asked for, and none overtakes a waiting one: an operation asked for while others of its
// direction wait goes to the back of the queue without trying.
import { Errno } from "@effect-connect/core"
import type { Binding, WatchHandle } from "./binding.js"

const EAGAIN = Errno.codeOf("EAGAIN", Errno.currentPlatform)
const EBADF = Errno.codeOf("EBADF", Errno.currentPlatform)

/**
 * Called once with a waiting operation's result: its system call's (never `-EAGAIN`), or with
 * `-errno` and `watchFailed` when the watch could not be kept.
 */
export type Done<A> = (result: A | number, watchFailed: boolean) => void

interface Waiter {
  attempt(): unknown
  done(result: unknown, watchFailed: boolean): void
}

export class Waiters {
  private readonly readers = new Set<Waiter>()
  private readonly writers = new Set<Waiter>()
  private watch: WatchHandle | undefined
  // The events the watch is set to: those of the non-empty queues, once `update` has run.
  private watching = 0
  private closed = false

  constructor(private readonly sys: Binding, private readonly fd: number) {}

  /**
   * Runs `attempt` (a non-blocking system call) for `events` (`POLL_READABLE` or
   * `POLL_WRITABLE`): at once when nothing of its direction waits, else after the operations
   * before it; on `-EAGAIN` it waits for the fd to be ready, and tries again then. Calls `done`
   * once, now or later, unless the returned cancel (which takes the operation out of its queue)
   * comes first. After `close`, `done(-EBADF)` without a system call.
   */
  run<A>(events: number, attempt: () => A | number, done: Done<A>): (() => void) | undefined {
    if (this.closed) {
      done(-EBADF, false)
      return undefined
    }
    const queue = events === this.sys.constants.POLL_READABLE ? this.readers : this.writers
    if (queue.size === 0) {
      const result = attempt()
      if (result !== -EAGAIN) {
        done(result, false)
        return undefined
      }
    }
    const waiter: Waiter = { attempt, done }
    queue.add(waiter)
    this.update()
    return () => {
      if (queue.delete(waiter)) this.update()
    }
  }

  /** Fails every waiter as after close (`-EBADF`) and closes the watch, once. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.fail(-EBADF, false)
  }

  private readonly onReady = (status: number, events: number): void => {
    if (status < 0) return this.fail(status, true)
    const c = this.sys.constants
    // A pending error comes with both bits set: each direction's head takes its turn.
    if (events & c.POLL_READABLE) this.drain(this.readers)
    if (events & c.POLL_WRITABLE) this.drain(this.writers)
    this.update()
  }

  // The head's system call, then the next one's, until one would block. Each waiter is told
  // at once: its fiber resumes now, and may ask for more (behind those waiting: they wait for
  // the next turn, so a fiber that keeps sending cannot hold the loop here), cancel others
  // (which then make no system call, so no datagram is taken for a waiter that is gone) or
  // close the socket (which empties the queues).
  private drain(queue: Set<Waiter>): void {
    let turns = queue.size
    for (const waiter of queue) {
      if (turns-- === 0) return
      const result = waiter.attempt()
      if (result === -EAGAIN) return
      queue.delete(waiter)
      waiter.done(result, false)
    }
  }

  // Sets the watch to the directions with waiters: it starts watching one that has its first,
  // and stops watching one that has none left.
  private update(): void {
    const c = this.sys.constants
    const events = (this.readers.size > 0 ? c.POLL_READABLE : 0) | (this.writers.size > 0 ? c.POLL_WRITABLE : 0)
    if (events === this.watching) return
    if (this.watch === undefined) {
      const watch = this.sys.watch(this.fd, this.onReady)
      if (typeof watch === "number") return this.fail(watch, true)
      this.watch = watch
    }
    const rc = this.watch.set(events)
    if (rc < 0) return this.fail(rc, true)
    this.watching = events
  }

  // Closes the watch (the next wait makes a new one) and fails every waiter with `rc`.
  private fail(rc: number, watchFailed: boolean): void {
    this.watch?.close()
    this.watch = undefined
    this.watching = 0
    const waiting = [...this.readers, ...this.writers]
    this.readers.clear()
    this.writers.clear()
    for (const waiter of waiting) waiter.done(rc, watchFailed)
  }
}
