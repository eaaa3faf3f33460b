// The one place that owns file descriptors: open, check a syscall's result, wait for readiness,
// and close exactly once, whoever (we or a net.Socket that adopted the fd) holds it by then.
import { type Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect } from "effect"
import { Socket as NetSocket } from "node:net"
import { getSystemErrorMap } from "node:util"
import type { Binding, SockAddr } from "./binding.js"
import { fromSockAddr } from "./sockaddr.js"

const ENOTCONN = Errno.codeOf("ENOTCONN", Errno.currentPlatform)
const EISCONN = Errno.codeOf("EISCONN", Errno.currentPlatform)
const EALREADY = Errno.codeOf("EALREADY", Errno.currentPlatform)
const EINPROGRESS = Errno.codeOf("EINPROGRESS", Errno.currentPlatform)

export type Context<K extends Errno.Kind | "raw"> = Omit<ConnectError.ErrnoContext<K>, "syscall">

// The platform's names for its errno numbers, so that an errno the table lacks keeps its name in
// UnknownErrno. libuv's map (keyed by -errno) knows more than os.constants.errno (ENONET, ...).
const errnoNames = new Map<number, string>()
for (const [code, [name]] of getSystemErrorMap()) if (code < 0 && !errnoNames.has(-code)) errnoNames.set(-code, name)

/** `-errno` from the binding, as the tagged error of the context's kind. */
export const errnoError = <K extends Errno.Kind | "raw">(rc: number, syscall: ConnectError.Syscall, context: Context<K>) => {
  const errnoName = errnoNames.get(-rc)
  return ConnectError.fromErrno(-rc, { ...context, syscall, ...(errnoName === undefined ? {} : { errnoName }) })
}

/** Fails with the tagged error when a binding call returned `-errno`. */
export const check = <K extends Errno.Kind | "raw">(
  rc: number,
  syscall: ConnectError.Syscall,
  context: Context<K>
): Effect.Effect<number, ConnectError.ErrorForKind<K>> =>
  rc < 0 ? Effect.fail(errnoError(rc, syscall, context)) : Effect.succeed(rc)

/**
 * A file descriptor and who closes it. Exactly one owner at a time:
 * - `ours`: this object; `close()` closes the number.
 * - `node`: the net.Socket `toNodeSocket()` made; `close()` destroys it, and Node closes the number.
 * - `detached`: the caller of `detach()`; `close()` leaves the number alone.
 * - `closed`: nobody; the number may already belong to another file.
 */
export class Fd {
  private node: NetSocket | undefined
  private owner: "ours" | "node" | "detached" | "closed" = "ours"
  constructor(protected readonly sys: Binding, readonly fd: number) {}

  /** Hands the fd to Node: from now on the net.Socket closes it. */
  toNodeSocket(): NetSocket {
    if (this.owner === "node" && this.node !== undefined) return this.node
    if (this.owner !== "ours") throw new Error(`fd ${this.fd} is ${this.owner}: it cannot be handed to a net.Socket`)
    this.owner = "node"
    this.node = new ConnectedSocket({ fd: this.fd, readable: true, writable: true })
    return this.node
  }

  /** Hands the fd to the caller: from now on nothing here closes it. */
  detach(): number {
    if (this.owner !== "ours") throw new Error(`fd ${this.fd} is ${this.owner === "node" ? "owned by a net.Socket" : this.owner}: it cannot be detached`)
    this.owner = "detached"
    return this.fd
  }

  /** Whether the number is still this socket's: neither closed by us nor by the net.Socket. */
  isOpen(): boolean {
    return this.owner === "ours" || (this.owner === "node" && this.node?.destroyed === false)
  }

  close(): void {
    const owner = this.owner
    this.owner = "closed"
    if (owner === "node") this.node?.destroy()
    else if (owner === "ours") this.sys.close(this.fd)
  }
}

/**
 * A net.Socket over an fd that is already connected is already what a connected net.Socket is
 * (`pending` and `connecting` false, `readyState` "open", `remoteAddress` from getpeername), but
 * its `connect` would issue connect(2) again on the fd: Linux accepts a second connect on a
 * settled TCP socket to any address, a unix socket fails (pg's `connect ENOENT 127.0.0.1:5432`),
 * the BSDs say EISCONN. Clients that call `connect` themselves (pg) get what Node gives after a
 * successful connect instead: 'connect' then 'ready', asynchronously, and the callback. The
 * arguments are not checked against the connected peer: the socket is connected to what was
 * dialed. A subclass rather than a `connect` set on each socket: one shape for every adopted
 * socket, and no closure per adoption.
 */
class ConnectedSocket extends NetSocket {
  override connect(...args: ReadonlyArray<unknown>): this {
    const callback = args.at(-1)
    if (typeof callback === "function") this.once("connect", callback as () => void)
    process.nextTick(emitConnected, this)
    return this
  }
}

const emitConnected = (socket: NetSocket) => {
  if (socket.destroyed) return
  socket.emit("connect")
  socket.emit("ready")
}

/** socket(2), scoped: the scope's close closes the fd, also on interruption. */
export const open = <K extends Errno.Kind | "raw">(sys: Binding, domain: number, type: number, context: Context<K>) =>
  Effect.acquireRelease(
    Effect.suspend(() => Effect.map(check(sys.socket(domain, type), "socket", context), (fd) => new Fd(sys, fd))),
    (fd) => Effect.sync(() => fd.close())
  )

/**
 * Waits on the main loop until the fd is ready for `events`; interruption cancels the poll.
 * Resolves with the readiness bits.
 */
export const ready = <K extends Errno.Kind | "raw">(sys: Binding, fd: number, events: number, context: Context<K>) =>
  Effect.callback<number, ConnectError.ErrorForKind<K>>((resume) => {
    const cancel = poll(sys, fd, events, context, resume)
    return cancel === undefined ? undefined : Effect.sync(cancel)
  })

/**
 * `ready`'s wait as a plain callback, for waits that something besides interruption can end:
 * starts the poll and returns its cancel, or undefined when it ended at once.
 */
export const poll = <K extends Errno.Kind | "raw">(
  sys: Binding,
  fd: number,
  events: number,
  context: Context<K>,
  done: (outcome: Effect.Effect<number, ConnectError.ErrorForKind<K>>) => void
): (() => void) | undefined => {
  const handle = sys.poll(fd, events, (status, ready) => {
    done(status < 0 ? Effect.fail(errnoError(status, "poll", context)) : Effect.succeed(ready))
  })
  if (typeof handle === "number") {
    done(Effect.fail(errnoError(handle, "poll", context)))
    return undefined
  }
  return () => handle.cancel()
}

/**
 * A connect's outcome once its socket looked ready, proven by the kernel rather than inferred
 * from a wake-up: SO_ERROR's errno is the connect's error; with none, getpeername(2) must name
 * the peer. SO_ERROR is also 0 while the handshake is still under way, so a spurious or stale
 * writable wake-up (libuv merges the watcher's POLLOUT into a bare EPOLLHUP, and a wake-up
 * meant for an earlier socket on the same fd number looks like this one's) would otherwise
 * read as success. On ENOTCONN, connect(2) again gives the kernel's own word: EALREADY while
 * the handshake is under way (`"pending"`: poll again), 0 or EISCONN once it is done, or the
 * failure (ECONNABORTED when its errno was already read).
 */
export const proveConnected = <K extends Errno.Kind | "raw">(
  sys: Binding,
  s: number,
  sa: SockAddr,
  context: Context<K>
): "connected" | "pending" | ConnectError.ErrorForKind<K> => {
  const pending = sys.getsockoptInt(s, sys.constants.SOL_SOCKET, sys.constants.SO_ERROR)
  if (pending > 0) return errnoError(-pending, "connect", context)
  if (pending < 0) return errnoError(pending, "getsockopt", context)
  const peer = sys.getpeername(s)
  if (typeof peer !== "number") return "connected"
  if (peer !== -ENOTCONN) return errnoError(peer, "getpeername", context)
  const again = sys.connect(s, sa)
  if (again === 0 || again === -EISCONN) return "connected"
  return again === -EALREADY || again === -EINPROGRESS ? "pending" : errnoError(again, "connect", context)
}

/**
 * Whether an EACCES from a UDP connect or sendto on `s` to `sa` is a broadcast destination
 * without SO_BROADCAST, rather than a prohibiting route or firewall: the kernel is asked again,
 * through a throwaway datagram socket of the same family with SO_BROADCAST set, whose connect(2)
 * only a broadcast destination's EACCES gives way to. That covers 255.255.255.255, every directed
 * broadcast of every interface (whatever its `brd`), and broadcast routes, with no copy of the
 * routing table here. The probe is bound to `s`'s local address, when it has one: the source
 * address decides the route (Linux sends 255.255.255.255 from a bound address out of that
 * address's interface, with no route looked up, where an unbound socket needs a route to it).
 * Only called after an EACCES, so it costs nothing on any other path.
 */
export const isBroadcastDenial = (sys: Binding, s: number, sa: SockAddr): boolean => {
  const c = sys.constants
  if (sa.family !== c.AF_INET) return false
  const local = sys.getsockname(s)
  const bound = typeof local !== "number" && local.family === c.AF_INET && local.address !== "0.0.0.0"
  const probe = sys.socket(c.AF_INET, c.SOCK_DGRAM)
  if (probe < 0) return false
  const allowed = sys.setsockoptInt(probe, c.SOL_SOCKET, c.SO_BROADCAST, 1) === 0 &&
    (!bound || sys.bind(probe, { family: c.AF_INET, address: local.address, port: 0 }) === 0) &&
    sys.connect(probe, sa) === 0
  sys.close(probe)
  return allowed
}

/** getsockname/getpeername's answer as an address, or its errno as the tagged error. */
export const endpoint = <K extends Errno.Kind | "raw">(
  sa: SockAddr | number,
  syscall: "getsockname" | "getpeername",
  context: Context<K>
): Effect.Effect<Address.Address, ConnectError.ErrorForKind<K>> =>
  typeof sa === "number" ? Effect.fail(errnoError(sa, syscall, context)) : Effect.succeed(fromSockAddr(sa))
