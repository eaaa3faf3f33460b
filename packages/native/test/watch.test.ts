/**
 * The binding's lasting watch of an fd (the one libuv handle a Datagram's waiting sends and
 * receives share), against the real kernel over loopback UDP only.
 */
import * as os from "node:os"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { loadedBinding, type SockAddr, type WatchHandle } from "../src/internal/binding.js"
import { fdCount } from "./support.js"

const b = loadedBinding()

const E = os.constants.errno
const c = b.constants

const open = new Set<number>()
const socket = (): number => {
  const fd = b.socket(c.AF_INET, c.SOCK_DGRAM)
  expect(fd).toBeGreaterThanOrEqual(0)
  open.add(fd)
  return fd
}
const close = (fd: number): void => {
  open.delete(fd)
  expect(b.close(fd)).toBe(0)
}
afterEach(() => {
  const leaked = [...open]
  for (const fd of leaked) close(fd)
  expect(leaked).toEqual([])
})
let fdsAtStart = 0
beforeAll(() => {
  fdsAtStart = fdCount()
})
afterAll(() => {
  expect(fdCount()).toBe(fdsAtStart)
})

/** A bound UDP socket: not readable until something is sent to it. */
const receiver = (): { fd: number; to: SockAddr } => {
  const fd = socket()
  expect(b.bind(fd, { family: c.AF_INET, address: "127.0.0.1", port: 0 })).toBe(0)
  const name = b.getsockname(fd)
  if (typeof name === "number") throw new Error(`getsockname: ${name}`)
  return { fd, to: { family: c.AF_INET, address: "127.0.0.1", port: name.port } }
}

const watch = (fd: number, callback: (status: number, events: number) => void): WatchHandle => {
  const handle = b.watch(fd, callback)
  if (typeof handle === "number") throw new Error(`watch: ${handle}`)
  return handle
}

const turns = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once `predicate` holds, checked every millisecond for at most `ms`. */
const until = async (predicate: () => boolean, ms = 2000, what = "condition"): Promise<void> => {
  for (let waited = 0; !predicate(); waited++) {
    if (waited >= ms) throw new Error(`${what}: not within ${ms}ms`)
    await turns(1)
  }
}

describe("watch", () => {
  it("calls back on every turn the fd is ready for the events set; set(0) stops, set again resumes", async () => {
    const { fd, to } = receiver()
    const calls: Array<[number, number]> = []
    const w = watch(fd, (status, events) => void calls.push([status, events]))
    // Set to nothing at first: a readable fd gives no call.
    const sender = socket()
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    await turns(20)
    expect(calls).toEqual([])

    expect(w.set(c.POLL_READABLE)).toBe(0)
    await until(() => calls.length >= 3, 2000, "level-triggered calls")
    expect(new Set(calls.map(String))).toEqual(new Set([String([0, c.POLL_READABLE])]))

    expect(w.set(0)).toBe(0)
    const stopped = calls.length
    await turns(20)
    expect(calls.length).toBe(stopped)

    // Read the datagram: then readable gives nothing, writable does.
    expect(typeof b.recvfrom(fd, 8)).toBe("object")
    expect(w.set(c.POLL_READABLE)).toBe(0)
    await turns(20)
    expect(calls.length).toBe(stopped)
    expect(w.set(c.POLL_READABLE | c.POLL_WRITABLE)).toBe(0)
    await until(() => calls.length > stopped, 2000, "writable")
    expect(calls.at(-1)).toEqual([0, c.POLL_WRITABLE])
    w.close()
    const closed = calls.length
    await turns(20)
    expect(calls.length).toBe(closed)
    close(sender)
    close(fd)
  })

  it("argument and state errors; one libuv handle per fd, shared with poll", () => {
    const { fd } = receiver()
    const untyped = b.watch as unknown as (...args: Array<unknown>) => unknown
    expect(() => untyped(fd, "not a function")).toThrow(TypeError)
    expect(() => untyped(1.5, () => {})).toThrow(TypeError)
    expect(b.watch(-1, () => {})).toBe(-E.EBADF)

    const w = watch(fd, () => {})
    expect(b.watch(fd, () => {})).toBe(-E.EEXIST)
    expect(b.poll(fd, c.POLL_READABLE, () => {})).toBe(-E.EEXIST)
    expect(w.set(8)).toBe(-E.EINVAL)
    expect(w.set(-1)).toBe(-E.EINVAL)
    expect(() => (w.set as unknown as (v: unknown) => unknown)("1")).toThrow(TypeError)
    w.close()
    w.close()
    expect(w.set(c.POLL_READABLE)).toBe(-E.EBADF)

    // A poll holds the fd the same way.
    const p = b.poll(fd, c.POLL_READABLE, () => {})
    if (typeof p === "number") throw new Error(`poll: ${p}`)
    expect(b.watch(fd, () => {})).toBe(-E.EEXIST)
    p.cancel()
    watch(fd, () => {}).close()

    // Made from JS through the prototype's constructor, a handle belongs to no watch.
    const Orphan = (w as unknown as { constructor: new() => WatchHandle }).constructor
    const orphan = new Orphan()
    expect(orphan.set(c.POLL_READABLE)).toBe(-E.EBADF)
    orphan.close()
    close(fd)
  })

  it("close(fd) retires a watch: its callback gets -EBADF once, later; close() before that drops it", async () => {
    const { fd } = receiver()
    const calls: Array<[number, number]> = []
    const w = watch(fd, (status, events) => void calls.push([status, events]))
    expect(w.set(c.POLL_READABLE)).toBe(0)
    close(fd)
    expect(calls).toEqual([])
    expect(w.set(c.POLL_READABLE)).toBe(-E.EBADF)
    await until(() => calls.length > 0, 2000, "the retired watch's call")
    await turns(20)
    expect(calls).toEqual([[-E.EBADF, 0]])
    w.close()

    const other = receiver().fd
    let called = 0
    const dropped = watch(other, () => called++)
    close(other)
    dropped.close()
    await turns(20)
    expect(called).toBe(0)
  })

  it("close() or set(0) from inside the callback: no further call", async () => {
    const { fd, to } = receiver()
    const sender = socket()
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    let closing = 0
    const a = watch(fd, () => {
      closing++
      a.close()
    })
    expect(a.set(c.POLL_READABLE)).toBe(0)
    await until(() => closing > 0)
    await turns(20)
    expect(closing).toBe(1)

    let stopping = 0
    const s = watch(fd, () => {
      stopping++
      expect(s.set(0)).toBe(0)
    })
    expect(s.set(c.POLL_READABLE)).toBe(0)
    await until(() => stopping > 0)
    await turns(20)
    expect(stopping).toBe(1)
    s.close()
    close(sender)
    close(fd)
  })

  it("a pending socket error (POLLERR) gives the bits set plus POLL_ERROR, and the watch keeps watching", async () => {
    // A connected UDP socket whose datagrams are refused (ICMP port unreachable, on loopback):
    // the kernel sets ECONNREFUSED as the socket's pending error.
    const closed = receiver()
    close(closed.fd)
    const fd = socket()
    expect(b.connect(fd, closed.to)).toBe(0)
    const calls: Array<[number, number]> = []
    const w = watch(fd, (status, events) => {
      calls.push([status, events])
      // What a waiting recv does: read the error, which clears it.
      expect(b.recvfrom(fd, 8)).toBe(-E.ECONNREFUSED)
    })
    expect(w.set(c.POLL_READABLE)).toBe(0)
    for (let round = 1; round <= 3; round++) {
      expect(b.send(fd, new Uint8Array([round]))).toBe(1)
      await until(() => calls.length >= round, 2000, `refusal ${round}`)
    }
    expect(calls).toEqual([1, 2, 3].map(() => [0, c.POLL_READABLE | c.POLL_ERROR]))
    w.close()
    close(fd)
  })

  it("1000 watches (closed, retired by close(fd), or closed in their callback) leave the fd count unchanged", async () => {
    const before = fdCount()
    const sender = socket()
    let retired = 0
    let fired = 0
    for (let i = 0; i < 1000; i++) {
      const { fd, to } = receiver()
      const mode = i % 3
      if (mode === 0) {
        const w = watch(fd, () => {
          throw new Error("a closed watch fired")
        })
        expect(w.set(c.POLL_READABLE | c.POLL_WRITABLE)).toBe(0)
        w.close()
        close(fd)
      } else if (mode === 1) {
        const w = watch(fd, (status) => {
          if (status === -E.EBADF) retired++
        })
        expect(w.set(c.POLL_READABLE)).toBe(0)
        close(fd)
      } else {
        const w = watch(fd, () => {
          fired++
          w.close()
          close(fd)
        })
        expect(w.set(c.POLL_READABLE)).toBe(0)
        expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
      }
    }
    await until(() => retired === 333 && fired === 333, 10_000, "every watch")
    close(sender)
    expect(fdCount()).toBe(before)
  })
})
