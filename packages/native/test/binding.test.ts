/**
 * The raw native binding against the real kernel, over loopback and unix sockets in a
 * temporary directory only. Every errno is asserted exactly, against os.constants.errno.
 */
import { spawnSync } from "node:child_process"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { AsyncLocalStorage } from "node:async_hooks"
import { fileURLToPath } from "node:url"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { Datagram, Raw } from "@effect-connect/native"
import { loadedBinding, type SockAddr } from "../src/internal/binding.js"
import { errnoInject, errnoInjectMissing } from "./errno-inject.js"

const b = loadedBinding()

const E = os.constants.errno
const c = b.constants
const isLinux = process.platform === "linux"

const addonPath = fileURLToPath(new URL("../build/Release/effect_connect.node", import.meta.url))

// --- helpers -------------------------------------------------------------------------------

const inet = (address: string, port: number): SockAddr => ({ family: c.AF_INET, address, port })
const inet6 = (address: string, port: number): SockAddr => ({ family: c.AF_INET6, address, port })
const unix = (p: string | Uint8Array): SockAddr => ({
  family: c.AF_UNIX,
  address: typeof p === "string" ? new Uint8Array(Buffer.from(p)) : p,
  port: 0
})
const abstract = (name: string): SockAddr => unix(new Uint8Array([0, ...Buffer.from(name)]))
const unspec: SockAddr = { family: c.AF_UNSPEC, address: "", port: 0 }

/** Descriptors opened by the running test; whatever a test leaves open is closed after it. */
const open = new Set<number>()
const track = (fd: number): number => {
  expect(fd).toBeGreaterThanOrEqual(0)
  open.add(fd)
  return fd
}
const socket = (domain: number, type: number): number => track(b.socket(domain, type))
const close = (fd: number): void => {
  open.delete(fd)
  expect(b.close(fd)).toBe(0)
}
afterEach(() => {
  const leaked = [...open]
  for (const fd of leaked) close(fd)
  expect(leaked).toEqual([])
})

const fdCount = (): number => fs.readdirSync("/proc/self/fd").length
let fdsAtStart = 0
let tmp = ""
beforeAll(() => {
  fdsAtStart = fdCount()
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ec-binding-"))
})
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
  expect(fdCount()).toBe(fdsAtStart)
})

/** Resolves with the poll's (status, events), or rejects (and cancels) after `ms`. */
const pollOnce = (fd: number, events: number, ms = 2000): Promise<{ status: number; events: number }> =>
  new Promise((resolve, reject) => {
    const handle = b.poll(fd, events, (status, ready) => {
      clearTimeout(timer)
      resolve({ status, events: ready })
    })
    if (typeof handle === "number") return reject(new Error(`poll failed: ${handle}`))
    const timer = setTimeout(() => {
      handle.cancel()
      reject(new Error(`poll(${fd}) did not fire within ${ms}ms`))
    }, ms)
  })

const sockName = (fd: number): SockAddr => {
  const a = b.getsockname(fd)
  if (typeof a === "number") throw new Error(`getsockname: ${a}`)
  return a
}

/** A TCP port on 127.0.0.1 that is bound (so nobody else gets it) but not listening. */
const boundNotListening = (): { fd: number; port: number } => {
  const fd = socket(c.AF_INET, c.SOCK_STREAM)
  expect(b.bind(fd, inet("127.0.0.1", 0))).toBe(0)
  return { fd, port: sockName(fd).port }
}

const listenTcp = async (server: net.Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return (server.address() as net.AddressInfo).port
}
const closeServer = (server: net.Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()))

const withTimeout = <A>(promise: Promise<A>, ms: number, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms}ms`)), ms)
    promise.then(
      (a) => (clearTimeout(timer), resolve(a)),
      (e: unknown) => (clearTimeout(timer), reject(e))
    )
  })

// --- tests ---------------------------------------------------------------------------------

describe("constants", () => {
  it("are the platform's numbers", () => {
    expect(c.AF_UNSPEC).toBe(0)
    expect(c.SOCK_STREAM).not.toBe(c.SOCK_DGRAM)
    expect(new Set([c.POLL_READABLE, c.POLL_WRITABLE, c.POLL_ERROR]).size).toBe(3)
    expect(Object.isFrozen(c)).toBe(true)
    if (isLinux) {
      expect(c).toMatchObject({ AF_UNIX: 1, AF_INET: 2, AF_INET6: 10, SUN_PATH_MAX: 108 })
      expect(c.TCP_SYNCNT).toBe(7)
      expect(c.TCP_USER_TIMEOUT).toBe(18)
      expect(c.TCP_KEEPIDLE).toBe(4)
    }
  })
  it("are what the package says without loading the addon: sun_path's size and the largest receive", () => {
    expect(Raw.sunPathMax).toBe(c.SUN_PATH_MAX)
    expect(Raw.maxPathBytes).toBe(isLinux ? c.SUN_PATH_MAX : c.SUN_PATH_MAX - 1)
    expect(Datagram.maxBytesLimit).toBe(c.RECV_MAX)
  })
})

describe("argument types", () => {
  it("throws TypeError for wrong JS types only", () => {
    const fn = b.socket as unknown as (...args: Array<unknown>) => unknown
    expect(() => fn("2", 1)).toThrow(TypeError)
    expect(() => b.close(Number.NaN)).toThrow(TypeError)
    expect(() => b.close(1.5)).toThrow(TypeError)
    const connect = b.connect as unknown as (...args: Array<unknown>) => unknown
    expect(() => connect(-1, null)).toThrow(TypeError)
    expect(() => connect(-1, { family: c.AF_UNIX, address: "/tmp/x", port: 0 })).toThrow(TypeError)
    expect(() => connect(-1, { family: c.AF_INET, address: new Uint8Array(4), port: 0 })).toThrow(TypeError)
    expect(() => connect(-1, { family: c.AF_INET, address: "127.0.0.1" })).toThrow(TypeError)
    const poll = b.poll as unknown as (...args: Array<unknown>) => unknown
    expect(() => poll(-1, c.POLL_READABLE, "not a function")).toThrow(TypeError)
  })

  it("rejects addresses the kernel cannot be given, without a syscall", () => {
    // fd -1: had the syscall been made, the answer would be EBADF.
    expect(b.connect(-1, inet("1.2.3", 80))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet("127.0.0.1\u0000junk", 80))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet("::1", 80))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet6("[::1]", 80))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet6("fe80::1%lo", 80))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet("127.0.0.1", 65536))).toBe(-E.EINVAL)
    expect(b.connect(-1, inet("127.0.0.1", 80.5))).toBe(-E.EINVAL)
    expect(b.connect(-1, { family: 12345, address: "", port: 0 })).toBe(-E.EAFNOSUPPORT)
    expect(b.connect(-1, unix(new Uint8Array(c.SUN_PATH_MAX + 1).fill(97)))).toBe(-E.ENAMETOOLONG)
    expect(b.connect(-1, inet("127.0.0.1", 80))).toBe(-E.EBADF)
  })
})

describe("TCP connect over loopback", () => {
  it("refused: EINPROGRESS, then writable with a pending ECONNREFUSED", async () => {
    const { fd: holder, port } = boundNotListening()
    const fd = socket(c.AF_INET, c.SOCK_STREAM)
    const r = b.connect(fd, inet("127.0.0.1", port))
    expect([-E.EINPROGRESS, -E.ECONNREFUSED]).toContain(r)
    if (r === -E.EINPROGRESS) {
      const { status, events } = await pollOnce(fd, c.POLL_WRITABLE)
      expect(status).toBe(0)
      expect(events & c.POLL_WRITABLE).toBe(c.POLL_WRITABLE)
      // libuv reports the RST's POLLERR as UV_EBADF; the binding turns it into POLL_ERROR.
      expect(events & c.POLL_ERROR).toBe(c.POLL_ERROR)
      expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR)).toBe(E.ECONNREFUSED)
      // Reading SO_ERROR clears it.
      expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR)).toBe(0)
    }
    expect(b.getpeername(fd)).toBe(-E.ENOTCONN)
    close(fd)
    close(holder)
  })

  it("succeeds: EINPROGRESS, writable, SO_ERROR 0, names on both ends", async () => {
    const server = net.createServer()
    const serverAccepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve))
    const port = await listenTcp(server)
    const fd = socket(c.AF_INET, c.SOCK_STREAM)
    // The socket lock is held across the whole connect(2), so the SYN-ACK (handled in the
    // socket's backlog) cannot complete the handshake before the call returns.
    expect(b.connect(fd, inet("127.0.0.1", port))).toBe(-E.EINPROGRESS)
    const { status, events } = await pollOnce(fd, c.POLL_WRITABLE)
    expect(status).toBe(0)
    expect(events).toBe(c.POLL_WRITABLE)
    expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR)).toBe(0)
    expect(b.getpeername(fd)).toEqual({ family: c.AF_INET, address: "127.0.0.1", port })
    const local = sockName(fd)
    expect(local).toMatchObject({ family: c.AF_INET, address: "127.0.0.1" })
    expect(local.port).toBeGreaterThan(0)
    const peer = await withTimeout(serverAccepted, 2000, "accept")
    expect(peer.remotePort).toBe(local.port)
    // Linux: the first connect(2) after the non-blocking connect completed returns 0 and only
    // marks the socket connected; the next one says EISCONN.
    expect(b.connect(fd, inet("127.0.0.1", port))).toBe(0)
    expect(b.connect(fd, inet("127.0.0.1", port))).toBe(-E.EISCONN)
    // Bytes flow through send(2).
    const got = new Promise<Buffer>((resolve) => peer.once("data", resolve))
    expect(b.send(fd, new Uint8Array(Buffer.from("ping")))).toBe(4)
    expect((await withTimeout(got, 2000, "data")).toString()).toBe("ping")
    peer.destroy()
    close(fd)
    await closeServer(server)
  })

  it("IPv6 loopback: connect and names carry flowInfo and scopeId", async () => {
    const server = net.createServer()
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false))
      server.listen(0, "::1", () => resolve(true))
    })
    if (!listening) {
      console.log("skipped: ::1 is not available on this machine")
      return
    }
    const port = (server.address() as net.AddressInfo).port
    const fd = socket(c.AF_INET6, c.SOCK_STREAM)
    expect(b.connect(fd, inet6("::1", port))).toBe(-E.EINPROGRESS)
    expect((await pollOnce(fd, c.POLL_WRITABLE)).status).toBe(0)
    expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR)).toBe(0)
    expect(b.getpeername(fd)).toEqual({ family: c.AF_INET6, address: "::1", port, flowInfo: 0, scopeId: 0 })
    close(fd)
    await closeServer(server)
  })

  it("EALREADY: a second connect while the first is still in progress", async () => {
    // listen(fd, 0): the accept queue takes one connection; SYNs beyond it are dropped and
    // their connects stay in SYN_SENT.
    const listener = socket(c.AF_INET, c.SOCK_STREAM)
    expect(b.bind(listener, inet("127.0.0.1", 0))).toBe(0)
    expect(b.listen(listener, 0)).toBe(0)
    const to = inet("127.0.0.1", sockName(listener).port)
    let sawAlready = false
    for (let i = 0; i < 8 && !sawAlready; i++) {
      const fd = socket(c.AF_INET, c.SOCK_STREAM)
      expect(b.connect(fd, to)).toBe(-E.EINPROGRESS)
      const again = b.connect(fd, to)
      expect([0, -E.EALREADY]).toContain(again)
      if (again === -E.EALREADY) {
        sawAlready = true
        expect(b.connect(fd, to)).toBe(-E.EALREADY)
        expect(b.getpeername(fd)).toBe(-E.ENOTCONN)
      }
    }
    expect(sawAlready).toBe(true)
    for (const fd of [...open]) close(fd)
  })

  it("EISCONN on a connected unix stream socket (its connect completes at once)", async () => {
    const sockPath = path.join(tmp, "isconn.sock")
    const server = net.createServer((s) => s.destroy())
    await new Promise<void>((resolve) => server.listen(sockPath, resolve))
    const fd = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.connect(fd, unix(sockPath))).toBe(0)
    expect(b.connect(fd, unix(sockPath))).toBe(-E.EISCONN)
    close(fd)
    await closeServer(server)
  })

  it("EBADF, ENOTSOCK", () => {
    expect(b.connect(-1, inet("127.0.0.1", 1))).toBe(-E.EBADF)
    expect(b.connect(1 << 30, inet("127.0.0.1", 1))).toBe(-E.EBADF)
    expect(b.close(-1)).toBe(-E.EBADF)
    expect(b.getsockname(-1)).toBe(-E.EBADF)
    expect(b.getsockoptInt(-1, c.SOL_SOCKET, c.SO_ERROR)).toBe(-E.EBADF)
    const file = path.join(tmp, "regular")
    fs.writeFileSync(file, "x")
    const fd = fs.openSync(file, "r")
    try {
      expect(b.connect(fd, inet("127.0.0.1", 1))).toBe(-E.ENOTSOCK)
      expect(b.bind(fd, inet("127.0.0.1", 0))).toBe(-E.ENOTSOCK)
      expect(b.getsockname(fd)).toBe(-E.ENOTSOCK)
      expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR)).toBe(-E.ENOTSOCK)
      // epoll cannot watch a regular file.
      expect(b.poll(fd, c.POLL_READABLE, () => {})).toBe(-E.EPERM)
    } finally {
      fs.closeSync(fd)
    }
  })

  it("family mismatches: what Linux really returns", () => {
    const fd4 = socket(c.AF_INET, c.SOCK_STREAM)
    // A sockaddr_in6 (28 bytes) to an AF_INET socket: the length is fine, the family is not.
    expect(b.connect(fd4, inet6("::1", 1))).toBe(-E.EAFNOSUPPORT)
    // A short sockaddr_un (< sizeof(sockaddr_in)) to an AF_INET socket: the length check
    // comes first -> EINVAL; a long one (>= 16 bytes) reaches the family check.
    expect(b.connect(fd4, unix("/x"))).toBe(-E.EINVAL)
    expect(b.connect(fd4, unix(path.join(tmp, "long-enough-name")))).toBe(-E.EAFNOSUPPORT)
    const fd6 = socket(c.AF_INET6, c.SOCK_STREAM)
    // A sockaddr_in (16 bytes) to an AF_INET6 socket: shorter than SIN6_LEN_RFC2133 -> EINVAL.
    expect(b.connect(fd6, inet("127.0.0.1", 1))).toBe(-E.EINVAL)
    const fdu = socket(c.AF_UNIX, c.SOCK_STREAM)
    // unix: any foreign family is EINVAL, AF_UNSPEC too.
    expect(b.connect(fdu, inet("127.0.0.1", 1))).toBe(-E.EINVAL)
    expect(b.connect(fdu, unspec)).toBe(-E.EINVAL)
    // The unnamed unix address (no bytes) cannot be connected to.
    expect(b.connect(fdu, unix(new Uint8Array(0)))).toBe(-E.EINVAL)
    // A TCP socket treats AF_UNSPEC as "disconnect": 0 on an unconnected socket.
    expect(b.connect(fd4, unspec)).toBe(0)
    // socket(2) itself.
    expect(b.socket(12345, c.SOCK_STREAM)).toBe(-E.EAFNOSUPPORT)
    expect(b.socket(c.AF_INET, 12345)).toBe(-E.EINVAL)
    close(fd4)
    close(fd6)
    close(fdu)
  })

  it("socket options round-trip", () => {
    const fd = socket(c.AF_INET, c.SOCK_STREAM)
    expect(b.setsockoptInt(fd, c.IPPROTO_TCP, c.TCP_NODELAY, 1)).toBe(0)
    expect(b.getsockoptInt(fd, c.IPPROTO_TCP, c.TCP_NODELAY)).toBe(1)
    expect(b.setsockoptInt(fd, c.SOL_SOCKET, c.SO_KEEPALIVE, 1)).toBe(0)
    expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_KEEPALIVE)).toBe(1)
    if (c.TCP_SYNCNT !== undefined) {
      expect(b.setsockoptInt(fd, c.IPPROTO_TCP, c.TCP_SYNCNT, 2)).toBe(0)
      expect(b.getsockoptInt(fd, c.IPPROTO_TCP, c.TCP_SYNCNT)).toBe(2)
      expect(b.setsockoptInt(fd, c.IPPROTO_TCP, c.TCP_SYNCNT, 1000)).toBe(-E.EINVAL)
    }
    expect(b.setsockoptInt(fd, c.SOL_SOCKET, 99999, 1)).toBe(-E.ENOPROTOOPT)
    close(fd)
  })
})

describe("UDP", () => {
  it("connect to 127.255.255.255: EACCES without SO_BROADCAST, 0 with it", () => {
    // connect(2) on a datagram socket only records the peer: nothing is sent.
    const fd = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.connect(fd, inet("127.255.255.255", 9))).toBe(-E.EACCES)
    expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_BROADCAST)).toBe(0)
    expect(b.setsockoptInt(fd, c.SOL_SOCKET, c.SO_BROADCAST, 1)).toBe(0)
    expect(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_BROADCAST)).toBe(1)
    expect(b.connect(fd, inet("127.255.255.255", 9))).toBe(0)
    close(fd)
  })

  it("associate, send, change peer, receive, dissolve with AF_UNSPEC", async () => {
    const nodeA = dgram.createSocket("udp4")
    const nodeB = dgram.createSocket("udp4")
    await Promise.all([nodeA, nodeB].map((s) => new Promise<void>((r) => s.bind(0, "127.0.0.1", r))))
    const portA = nodeA.address().port
    const portB = nodeB.address().port
    const message = (s: dgram.Socket) =>
      withTimeout(
        new Promise<{ msg: Buffer; rinfo: dgram.RemoteInfo }>((resolve) =>
          s.once("message", (msg, rinfo) => resolve({ msg, rinfo }))
        ),
        2000,
        "datagram"
      )

    const fd = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.recvfrom(fd, 100)).toBe(-E.EAGAIN)
    expect(b.send(fd, new Uint8Array([1]))).toBe(-E.EDESTADDRREQ)
    expect(b.connect(fd, inet("127.0.0.1", portA))).toBe(0)
    expect(b.getpeername(fd)).toEqual({ family: c.AF_INET, address: "127.0.0.1", port: portA })
    const local = sockName(fd)
    expect(local.port).toBeGreaterThan(0)

    const atA = message(nodeA)
    expect(b.send(fd, new Uint8Array(Buffer.from("hello")))).toBe(5)
    const a = await atA
    expect(a.msg.toString()).toBe("hello")
    expect(a.rinfo.port).toBe(local.port)

    // The association filters: only the peer's datagrams are received.
    nodeB.send("from b (dropped)", local.port, "127.0.0.1")
    nodeA.send("pong", local.port, "127.0.0.1")
    const ready = await pollOnce(fd, c.POLL_READABLE)
    expect(ready).toEqual({ status: 0, events: c.POLL_READABLE })
    const got = b.recvfrom(fd, 100)
    if (typeof got === "number") throw new Error(`recvfrom: ${got}`)
    expect(Buffer.from(got.data).toString()).toBe("pong")
    expect(got.from).toEqual({ family: c.AF_INET, address: "127.0.0.1", port: portA })
    expect(got.truncated).toBe(false)

    // connect again: a new peer.
    expect(b.connect(fd, inet("127.0.0.1", portB))).toBe(0)
    const atB = message(nodeB)
    expect(b.send(fd, new Uint8Array(Buffer.from("to b")))).toBe(4)
    expect((await atB).msg.toString()).toBe("to b")

    // A datagram longer than maxBytes is cut and says so.
    nodeB.send("0123456789", local.port, "127.0.0.1")
    await pollOnce(fd, c.POLL_READABLE)
    const cut = b.recvfrom(fd, 4)
    if (typeof cut === "number") throw new Error(`recvfrom: ${cut}`)
    expect(Buffer.from(cut.data).toString()).toBe("0123")
    expect(cut.truncated).toBe(true)
    expect(b.recvfrom(fd, 100)).toBe(-E.EAGAIN)

    // AF_UNSPEC dissolves the association.
    expect(b.connect(fd, unspec)).toBe(0)
    expect(b.getpeername(fd)).toBe(-E.ENOTCONN)
    expect(b.send(fd, new Uint8Array([1]))).toBe(-E.EDESTADDRREQ)
    // sendto still works on the unassociated socket.
    const atA2 = message(nodeA)
    expect(b.sendto(fd, new Uint8Array(Buffer.from("direct")), inet("127.0.0.1", portA))).toBe(6)
    expect((await atA2).msg.toString()).toBe("direct")
    expect(b.recvfrom(fd, -1)).toBe(-E.EINVAL)

    close(fd)
    await Promise.all([nodeA, nodeB].map((s) => new Promise<void>((r) => s.close(r))))
  })
})

describe("native memory: no JavaScript between taking a pointer and using it; bounded receives", () => {
  const udpPair = () => {
    const receiver = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.bind(receiver, inet("127.0.0.1", 0))).toBe(0)
    return { receiver, to: sockName(receiver), sender: socket(c.AF_INET, c.SOCK_DGRAM) }
  }

  it("sendto: an address getter that detaches the data's buffer sends an empty datagram, never freed memory", () => {
    const { receiver, sender, to } = udpPair()
    const data = new Uint8Array(4096).fill(7)
    let detached = false
    const address = {
      family: c.AF_INET,
      port: to.port,
      get address() {
        structuredClone(data.buffer, { transfer: [data.buffer] })
        detached = data.byteLength === 0
        return "127.0.0.1"
      }
    }
    expect(b.sendto(sender, data, address as SockAddr)).toBe(0)
    expect(detached).toBe(true)
    const got = b.recvfrom(receiver, 65536)
    if (typeof got === "number") throw new Error(`recvfrom: ${got}`)
    expect(got.data.byteLength).toBe(0)
    close(sender)
    close(receiver)
  })

  it("recvfrom: any maxBytes outside 0..RECV_MAX is -EINVAL, without a throw, an abort or memory kept", () => {
    const { receiver, sender, to } = udpPair()
    expect(c.RECV_MAX).toBe(1 << 20)
    const rss = process.memoryUsage.rss()
    for (const size of [2 ** 31, 2 ** 53, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, c.RECV_MAX + 1, 1 << 30]) {
      expect(b.recvfrom(receiver, size), String(size)).toBe(-E.EINVAL)
    }
    // The cap itself, on EAGAIN and on a datagram: its buffer lives for the call only.
    for (let i = 0; i < 64; i++) expect(b.recvfrom(receiver, c.RECV_MAX)).toBe(-E.EAGAIN)
    expect(b.sendto(sender, new Uint8Array([1, 2, 3]), to)).toBe(3)
    const got = b.recvfrom(receiver, c.RECV_MAX)
    if (typeof got === "number") throw new Error(`recvfrom: ${got}`)
    expect([...got.data]).toEqual([1, 2, 3])
    expect(process.memoryUsage.rss() - rss).toBeLessThan(64 * 1024 * 1024)
    close(sender)
    close(receiver)
  })

  it("recvfrom: a unix datagram larger than the kept 64 KiB buffer arrives whole", () => {
    const pair = [socket(c.AF_UNIX, c.SOCK_DGRAM), socket(c.AF_UNIX, c.SOCK_DGRAM)]
    const [r, s] = pair as [number, number]
    const rp = path.join(tmp, `big-${process.pid}.sock`)
    expect(b.bind(r, unix(rp))).toBe(0)
    const big = new Uint8Array(150_000).map((_, i) => i % 251)
    expect(b.setsockoptInt(s, c.SOL_SOCKET, c.SO_SNDBUF, 1 << 20)).toBe(0)
    expect(b.setsockoptInt(r, c.SOL_SOCKET, c.SO_RCVBUF, 1 << 20)).toBe(0)
    expect(b.sendto(s, big, unix(rp))).toBe(big.length)
    const got = b.recvfrom(r, c.RECV_MAX)
    if (typeof got === "number") throw new Error(`recvfrom: ${got}`)
    expect(got.truncated).toBe(false)
    expect(Buffer.from(got.data).equals(Buffer.from(big))).toBe(true)
    close(s)
    close(r)
    fs.rmSync(rp)
  })
})

describe("unix sockets", () => {
  it("ENOENT, ENOTDIR, ENAMETOOLONG, ECONNREFUSED, EPROTOTYPE", () => {
    const fd = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.connect(fd, unix(path.join(tmp, "missing.sock")))).toBe(-E.ENOENT)
    expect(b.connect(fd, unix(path.join(tmp, "no-dir", "x.sock")))).toBe(-E.ENOENT)
    const file = path.join(tmp, "a-file")
    fs.writeFileSync(file, "")
    expect(b.connect(fd, unix(path.join(file, "x.sock")))).toBe(-E.ENOTDIR)
    // A regular file where the socket should be.
    expect(b.connect(fd, unix(file))).toBe(-E.ECONNREFUSED)
    // Too long for sun_path: refused before the syscall.
    const tooLong = path.join(tmp, "x".repeat(c.SUN_PATH_MAX))
    expect(b.connect(fd, unix(tooLong))).toBe(-E.ENAMETOOLONG)
    // Exactly SUN_PATH_MAX bytes: passed unterminated; Linux accepts the length.
    const exact = path.join(tmp, "y".repeat(c.SUN_PATH_MAX - tmp.length - 1))
    expect(Buffer.byteLength(exact)).toBe(c.SUN_PATH_MAX)
    expect(b.connect(fd, unix(exact))).toBe(-E.ENOENT)
    // A socket file with no listener (stale).
    const stale = path.join(tmp, "stale.sock")
    const s = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.bind(s, unix(stale))).toBe(0)
    close(s)
    expect(fs.statSync(stale).isSocket()).toBe(true)
    expect(b.connect(fd, unix(stale))).toBe(-E.ECONNREFUSED)
    // Stream vs datagram.
    const d = socket(c.AF_UNIX, c.SOCK_DGRAM)
    expect(b.bind(d, unix(path.join(tmp, "dgram.sock")))).toBe(0)
    expect(b.connect(fd, unix(path.join(tmp, "dgram.sock")))).toBe(-E.EPROTOTYPE)
    close(d)
    close(fd)
  })

  it("EAGAIN when a listener's backlog is full (Linux)", () => {
    if (!isLinux) return console.log("skipped: Linux-specific backlog behaviour")
    const p = path.join(tmp, "backlog.sock")
    const l = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.bind(l, unix(p))).toBe(0)
    expect(b.listen(l, 0)).toBe(0)
    const results: Array<number> = []
    for (let i = 0; i < 3; i++) results.push(b.connect(socket(c.AF_UNIX, c.SOCK_STREAM), unix(p)))
    expect(results).toEqual([0, -E.EAGAIN, -E.EAGAIN])
    for (const fd of [...open]) close(fd)
  })

  it("connects to a node listener on a path; names on both ends", async () => {
    const p = path.join(tmp, "server.sock")
    const server = net.createServer()
    const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve))
    await new Promise<void>((resolve) => server.listen(p, resolve))
    const fd = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.connect(fd, unix(p))).toBe(0)
    const peer = b.getpeername(fd)
    expect(peer).toEqual({ family: c.AF_UNIX, address: new Uint8Array(Buffer.from(p)), port: 0 })
    // The client is unnamed.
    expect(b.getsockname(fd)).toEqual({ family: c.AF_UNIX, address: new Uint8Array(0), port: 0 })
    const conn = await withTimeout(accepted, 2000, "accept")
    const got = new Promise<Buffer>((resolve) => conn.once("data", resolve))
    expect(b.send(fd, new Uint8Array(Buffer.from("over unix")))).toBe(9)
    expect((await withTimeout(got, 2000, "data")).toString()).toBe("over unix")
    conn.destroy()
    close(fd)
    await closeServer(server)
  })

  it("a path of exactly SUN_PATH_MAX bytes round-trips (kernel returns it unterminated)", () => {
    const exact = path.join(tmp, "z".repeat(c.SUN_PATH_MAX - tmp.length - 1))
    const fd = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.bind(fd, unix(exact))).toBe(0)
    expect(sockName(fd).address).toEqual(new Uint8Array(Buffer.from(exact)))
    close(fd)
  })

  it("abstract names round-trip, byte for byte (Linux)", () => {
    if (!isLinux) return console.log("skipped: abstract names are Linux-only")
    const name = `effect-connect-test-${process.pid}-${Date.now()}`
    const l = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.bind(l, abstract(name))).toBe(0)
    expect(b.listen(l, 8)).toBe(0)
    const expected = new Uint8Array([0, ...Buffer.from(name)])
    expect(sockName(l)).toEqual({ family: c.AF_UNIX, address: expected, port: 0 })
    const fd = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.connect(fd, abstract(name))).toBe(0)
    expect(b.getpeername(fd)).toEqual({ family: c.AF_UNIX, address: expected, port: 0 })
    // A full-length abstract name: every byte is the name, no terminator anywhere.
    const full = new Uint8Array(c.SUN_PATH_MAX).fill(120)
    full[0] = 0
    full.set(Buffer.from(String(process.pid)), 1)
    const f = socket(c.AF_UNIX, c.SOCK_DGRAM)
    expect(b.bind(f, unix(full))).toBe(0)
    expect(sockName(f).address).toEqual(full)
    // An abstract name nobody bound: ECONNREFUSED (there is no file to be missing).
    const other = socket(c.AF_UNIX, c.SOCK_STREAM)
    expect(b.connect(other, abstract(`${name}-nobody`))).toBe(-E.ECONNREFUSED)
    // Binding the unnamed address autobinds to a kernel-chosen abstract name.
    const auto = socket(c.AF_UNIX, c.SOCK_DGRAM)
    expect(b.bind(auto, unix(new Uint8Array(0)))).toBe(0)
    const autoName = sockName(auto).address as Uint8Array
    expect(autoName[0]).toBe(0)
    expect(autoName.length).toBeGreaterThan(1)
    for (const x of [l, fd, f, other, auto]) close(x)
  })

  it("datagrams: sendto a path, recvfrom names the sender (AF_UNSPEC when unnamed)", () => {
    const rp = path.join(tmp, "recv.sock")
    const sp = path.join(tmp, "send.sock")
    const r = socket(c.AF_UNIX, c.SOCK_DGRAM)
    expect(b.bind(r, unix(rp))).toBe(0)
    const s = socket(c.AF_UNIX, c.SOCK_DGRAM)
    expect(b.sendto(s, new Uint8Array([1, 2, 3]), unix(rp))).toBe(3)
    expect(b.recvfrom(r, 10)).toEqual({
      data: new Uint8Array([1, 2, 3]),
      from: { family: c.AF_UNSPEC, address: "", port: 0 },
      truncated: false
    })
    expect(b.bind(s, unix(sp))).toBe(0)
    expect(b.connect(s, unix(rp))).toBe(0)
    expect(b.send(s, new Uint8Array([4]))).toBe(1)
    expect(b.recvfrom(r, 10)).toEqual({
      data: new Uint8Array([4]),
      from: { family: c.AF_UNIX, address: new Uint8Array(Buffer.from(sp)), port: 0 },
      truncated: false
    })
    expect(b.recvfrom(r, 10)).toBe(-E.EAGAIN)
    close(r)
    close(s)
  })
})

describe("poll", () => {
  /** A bound UDP socket: not readable until something is sent to it. */
  const udpReceiver = (): { fd: number; to: SockAddr } => {
    const fd = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.bind(fd, inet("127.0.0.1", 0))).toBe(0)
    return { fd, to: inet("127.0.0.1", sockName(fd).port) }
  }

  it("cancel before fire never calls the callback; cancel is idempotent", async () => {
    const { fd, to } = udpReceiver()
    let called = 0
    const handle = b.poll(fd, c.POLL_READABLE, () => called++)
    if (typeof handle === "number") throw new Error(`poll: ${handle}`)
    handle.cancel()
    handle.cancel()
    // Make the fd readable, then let a fresh poll prove the loop has gone round.
    const sender = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    expect(await pollOnce(fd, c.POLL_READABLE)).toEqual({ status: 0, events: c.POLL_READABLE })
    await new Promise((r) => setTimeout(r, 20))
    expect(called).toBe(0)
    close(sender)
    close(fd)
  })

  it("fires once; cancel after fire is a no-op; the handle may be re-armed from the callback", async () => {
    const { fd, to } = udpReceiver()
    const sender = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    const calls: Array<[number, number]> = []
    const second = await withTimeout(
      new Promise<[number, number]>((resolve) => {
        const first = b.poll(fd, c.POLL_READABLE, (status, events) => {
          calls.push([status, events])
          if (typeof first !== "number") first.cancel()
          // Same fd, from inside the callback: the first poll is already retired.
          const again = b.poll(fd, c.POLL_READABLE | c.POLL_WRITABLE, (s, e) => resolve([s, e]))
          expect(typeof again).toBe("object")
        })
      }),
      2000,
      "poll"
    )
    expect(calls).toEqual([[0, c.POLL_READABLE]])
    expect(second).toEqual([0, c.POLL_READABLE | c.POLL_WRITABLE])
    close(sender)
    close(fd)
  })

  it("argument and state errors", () => {
    const { fd } = udpReceiver()
    expect(b.poll(fd, 0, () => {})).toBe(-E.EINVAL)
    expect(b.poll(fd, 8, () => {})).toBe(-E.EINVAL)
    expect(b.poll(-1, c.POLL_READABLE, () => {})).toBe(-E.EBADF)
    const handle = b.poll(fd, c.POLL_READABLE, () => {})
    if (typeof handle === "number") throw new Error(`poll: ${handle}`)
    expect(b.poll(fd, c.POLL_WRITABLE, () => {})).toBe(-E.EEXIST)
    handle.cancel()
    close(fd)
  })

  it("pollNow: readiness at once, without waiting", () => {
    const { fd, to } = udpReceiver()
    expect(b.pollNow(fd, c.POLL_READABLE)).toBe(0)
    expect(b.pollNow(fd, c.POLL_READABLE | c.POLL_WRITABLE)).toBe(c.POLL_WRITABLE)
    const sender = socket(c.AF_INET, c.SOCK_DGRAM)
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    expect(b.pollNow(fd, c.POLL_READABLE)).toBe(c.POLL_READABLE)
    expect(b.pollNow(fd, 0)).toBe(-E.EINVAL)
    expect(b.pollNow(fd, 8)).toBe(-E.EINVAL)
    close(sender)
    close(fd)
    expect(b.pollNow(fd, c.POLL_READABLE)).toBe(-E.EBADF)
  })

  it("pollNow: a loopback connect has finished when connect(2) returns EINPROGRESS", async () => {
    const server = net.createServer((peer) => peer.destroy())
    const port = await listenTcp(server)
    const fd = socket(c.AF_INET, c.SOCK_STREAM)
    expect(b.connect(fd, inet("127.0.0.1", port))).toBe(-E.EINPROGRESS)
    expect(b.pollNow(fd, c.POLL_WRITABLE)).toBe(c.POLL_WRITABLE)
    close(fd)
    const { fd: holder, port: closed } = boundNotListening()
    const refused = socket(c.AF_INET, c.SOCK_STREAM)
    expect(b.connect(refused, inet("127.0.0.1", closed))).toBe(-E.EINPROGRESS)
    expect(b.pollNow(refused, c.POLL_WRITABLE)).toBe(c.POLL_WRITABLE | c.POLL_ERROR)
    expect(b.getsockoptInt(refused, c.SOL_SOCKET, c.SO_ERROR)).toBe(E.ECONNREFUSED)
    close(refused)
    close(holder)
    await closeServer(server)
  })

  it("close(fd) retires a pending poll: its callback gets -EBADF, later", async () => {
    const { fd } = udpReceiver()
    let sync = true
    const result = new Promise<[number, number, boolean]>((resolve) => {
      b.poll(fd, c.POLL_READABLE, (status, events) => resolve([status, events, sync]))
    })
    close(fd)
    sync = false
    expect(await withTimeout(result, 2000, "retired poll")).toEqual([-E.EBADF, 0, false])

    // cancel() after close(fd) but before the deferred call: no call at all.
    const other = udpReceiver().fd
    let called = 0
    const handle = b.poll(other, c.POLL_READABLE, () => called++)
    if (typeof handle === "number") throw new Error(`poll: ${handle}`)
    close(other)
    handle.cancel()
    await new Promise((r) => setTimeout(r, 20))
    expect(called).toBe(0)
  })

  it("runs the callback in its async context: microtasks and AsyncLocalStorage", async () => {
    const { fd, to } = udpReceiver()
    const sender = socket(c.AF_INET, c.SOCK_DGRAM)
    const als = new AsyncLocalStorage<string>()
    const order: Array<string> = []
    const done = als.run("the store", () =>
      new Promise<string | undefined>((resolve) => {
        b.poll(fd, c.POLL_READABLE, () => {
          void Promise.resolve().then(() => order.push("microtask"))
          setImmediate(() => {
            order.push("immediate")
            resolve(store)
          })
          const store = als.getStore()
          order.push("callback")
        })
      })
    )
    expect(b.sendto(sender, new Uint8Array([1]), to)).toBe(1)
    expect(await withTimeout(done, 2000, "poll")).toBe("the store")
    expect(order).toEqual(["callback", "microtask", "immediate"])
    close(sender)
    close(fd)
  })
})

describe(`errno-inject (seccomp)${errnoInjectMissing === undefined ? "" : ` (skipped: ${errnoInjectMissing})`}`, () => {
  const script = (call: string) => `
    const b = require(${JSON.stringify(addonPath)});
    const c = b.constants;
    const fd = b.socket(c.AF_INET, c.SOCK_STREAM);
    if (fd < 0) { console.log(fd); process.exit(0); }
    const r = ${call};
    b.close(fd);
    console.log(r);
  `
  const connectCall = `b.connect(fd, { family: c.AF_INET, address: "127.0.0.1", port: 1 })`
  const bindCall = `b.bind(fd, { family: c.AF_INET, address: "127.0.0.1", port: 0 })`
  const cases: Array<[string, keyof typeof E, string]> = [
    ["connect", "EADDRINUSE", connectCall],
    ["connect", "EPERM", connectCall],
    ["connect", "ENOBUFS", connectCall],
    ["connect", "ETIMEDOUT", connectCall],
    ["bind", "EADDRNOTAVAIL", bindCall],
    ["socket", "EMFILE", connectCall]
  ]
  it.skipIf(errnoInject === undefined).each(cases)("%s fails with %s at the kernel boundary", (syscall, name, call) => {
    const errno = E[name]
    const child = spawnSync(
      errnoInject!,
      [syscall, String(errno), "--", process.execPath, "-e", script(call)],
      { encoding: "utf8", timeout: 20_000 }
    )
    expect(child.stderr).toBe("")
    expect(child.status).toBe(0)
    expect(child.stdout.trim()).toBe(String(-errno))
  })

  it.skipIf(errnoInject === undefined)("rejects bad usage", () => {
    expect(spawnSync(errnoInject!, [], { encoding: "utf8" }).status).toBe(2)
    expect(spawnSync(errnoInject!, ["nosuchcall", "1", "--", "true"], { encoding: "utf8" }).status).toBe(2)
    expect(spawnSync(errnoInject!, ["connect", "zero", "--", "true"], { encoding: "utf8" }).status).toBe(2)
  })
})

describe("fd hygiene", () => {
  it("1000 socket + connect + close cycles leave the fd count unchanged", () => {
    const { fd: holder, port } = boundNotListening()
    const to = inet("127.0.0.1", port)
    const before = fdCount()
    for (let i = 0; i < 1000; i++) {
      const fd = b.socket(c.AF_INET, c.SOCK_STREAM)
      expect(fd).toBeGreaterThanOrEqual(0)
      const r = b.connect(fd, to)
      if (r !== -E.EINPROGRESS && r !== -E.ECONNREFUSED) throw new Error(`connect: ${r}`)
      expect(b.close(fd)).toBe(0)
    }
    expect(fdCount()).toBe(before)
    close(holder)
  })

  it("1000 connects awaited through poll (cancelled, retired by close, or fired) leak nothing", async () => {
    const { fd: holder, port } = boundNotListening()
    const to = inet("127.0.0.1", port)
    const before = fdCount()
    const fired: Array<Promise<number>> = []
    for (let i = 0; i < 1000; i++) {
      const fd = b.socket(c.AF_INET, c.SOCK_STREAM)
      expect(b.connect(fd, to)).toBe(-E.EINPROGRESS)
      const mode = i % 3
      if (mode === 0) {
        const h = b.poll(fd, c.POLL_WRITABLE, () => {
          throw new Error("cancelled poll fired")
        })
        if (typeof h === "number") throw new Error(`poll: ${h}`)
        h.cancel()
        expect(b.close(fd)).toBe(0)
      } else if (mode === 1) {
        fired.push(
          new Promise((resolve) => {
            b.poll(fd, c.POLL_WRITABLE, (status) => resolve(status))
            expect(b.close(fd)).toBe(0)
          })
        )
      } else {
        fired.push(
          new Promise((resolve) => {
            b.poll(fd, c.POLL_WRITABLE, () => {
              resolve(b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_ERROR))
              expect(b.close(fd)).toBe(0)
            })
          })
        )
      }
    }
    const statuses = await withTimeout(Promise.all(fired), 10_000, "polls")
    expect(statuses.filter((s) => s === -E.EBADF).length).toBe(333)
    expect(statuses.filter((s) => s === E.ECONNREFUSED).length).toBe(333)
    expect(fdCount()).toBe(before)
    close(holder)
  })
})
