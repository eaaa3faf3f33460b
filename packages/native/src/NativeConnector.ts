/**
 * `NativeConnector.layer`: core's `Connector` on the native addon. Each attempt is a
 * non-blocking socket(2) with SOCK_CLOEXEC, the options, an optional bind(2), one connect(2),
 * and, on EINPROGRESS, a zero-timeout poll(2), then if need be a libuv poll for writable on the
 * main loop whose wake-ups are proven (SO_ERROR, then getpeername(2)). No thread pool, no blocking call; the fd is closed on every path that
 * does not hand out a `Connection`, interruption included.
 *
 * The addon is loaded when the layer is built, not at import. Where it cannot be (see `Addon`),
 * the layer is `NodeConnector`'s, and says so once, at Debug level, with the load error.
 *
 * @since 0.1.0
 */
import { Address, type Connection, ConnectError, Connector, Errno, type Resolver } from "@effect-connect/core"
import { Context, Duration, Effect, Layer, Scope } from "effect"
import type * as Socket from "effect/socket/Socket"
import { unsupported } from "./internal/addon.js"
import { type Binding, load, type SockAddr } from "./internal/binding.js"
import * as fd from "./internal/fd.js"
import { fromSockAddr, sockAddr } from "./internal/sockaddr.js"
import { toSocket } from "./internal/socket.js"
import { type Attempt, Deadlines } from "./internal/deadlines.js"
import { Turns } from "./internal/turns.js"
import * as NodeConnector from "./NodeConnector.js"
import * as NodeResolver from "./NodeResolver.js"

const platform = Errno.currentPlatform
const EINPROGRESS = Errno.codeOf("EINPROGRESS", platform)
const EINTR = Errno.codeOf("EINTR", platform)
const EALREADY = Errno.codeOf("EALREADY", platform)
const EBADF = Errno.codeOf("EBADF", platform)

type DialError = ConnectError.InetError | ConnectError.UnixError | ConnectError.InvalidAddress

// setsockopt(2) for each option asked for, before the connect so it covers the handshake: the
// first failure, or undefined.
const setOptions = (sys: Binding, s: number, address: Connector.Dialable, options: Connector.ConnectOptions): DialError | undefined => {
  // Most connects ask for none: no list to build.
  if (
    options.noDelay === undefined && options.keepAlive === undefined && options.reuseAddress === undefined &&
    options.linux === undefined
  ) return undefined
  const c = sys.constants
  const tcp = address._tag === "Tcp"
  const wanted: Array<readonly [string, number, number | undefined, number]> = []
  if (tcp && options.noDelay !== undefined) wanted.push(["noDelay", c.IPPROTO_TCP, c.TCP_NODELAY, options.noDelay ? 1 : 0])
  if (options.keepAlive !== undefined) wanted.push(["keepAlive", c.SOL_SOCKET, c.SO_KEEPALIVE, options.keepAlive ? 1 : 0])
  if (options.reuseAddress !== undefined) wanted.push(["reuseAddress", c.SOL_SOCKET, c.SO_REUSEADDR, options.reuseAddress ? 1 : 0])
  if (tcp && options.linux?.synRetries !== undefined) wanted.push(["linux.synRetries", c.IPPROTO_TCP, c.TCP_SYNCNT, options.linux.synRetries])
  if (tcp && options.linux?.userTimeout !== undefined) {
    wanted.push(["linux.userTimeout", c.IPPROTO_TCP, c.TCP_USER_TIMEOUT, Duration.toMillis(options.linux.userTimeout)])
  }
  for (const [option, level, name, value] of wanted) {
    if (name === undefined) {
      return new ConnectError.InvalidAddress({ input: Address.format(address), field: "option", reason: `${option} is not supported on this platform` })
    }
    const rc = sys.setsockoptInt(s, level, name, value)
    if (rc < 0) return fd.errnoError(rc, "setsockopt", contextOf(address, options))
  }
  return undefined
}

// The sockaddr to bind(2) to, if the options ask for one; a zone no interface has is the
// option's problem.
const localSockAddr = (address: Connector.Dialable, options: Connector.ConnectOptions) => {
  if (options.local === undefined || address._tag !== "Tcp") return undefined
  const v6 = Address.ipVersion(address) === 6
  const host = options.local.host
  // bind(2) would say EAFNOSUPPORT or EINVAL, whose hints are about other causes.
  const localVersion = host === undefined ? undefined : Address.ipVersion(Address.tcp(host, 0))
  if (localVersion !== undefined && localVersion !== (v6 ? 6 : 4)) {
    return new ConnectError.InvalidAddress({
      input: Address.format(address),
      field: "option",
      reason: `local.host ${host} is an IPv${localVersion} address and the address connected to is IPv${v6 ? 6 : 4}: bind(2) takes a local address of the socket's family`
    })
  }
  const sa = sockAddr(Address.tcp(host ?? (v6 ? "::" : "0.0.0.0"), options.local.port ?? 0), "bind")
  return "_tag" in sa && sa._tag === "InvalidAddress"
    ? new ConnectError.InvalidAddress({ input: Address.format(address), field: "option", reason: `local.host ${sa.reason}` })
    : sa
}

// bind(2), after the options (SO_REUSEADDR must come first): the error, or undefined.
const bindLocal = (sys: Binding, s: number, local: SockAddr | undefined, address: Connector.Dialable, options: Connector.ConnectOptions): DialError | undefined => {
  const rc = local === undefined ? 0 : sys.bind(s, local)
  return rc < 0 ? fd.errnoError(rc, "bind", { ...contextOf(address, options), kind: "inet" }) : undefined
}

// socket(2), the options and bind(2): the connection-to-be, or the first error with the fd
// already closed. The caller built the sockaddr to connect to before, and this builds the one to
// bind to before socket(2), so input that has none never opens an fd.
const open = (sys: Binding, address: Connector.Dialable, options: Connector.ConnectOptions, family: number): NativeConnection | DialError => {
  const local = localSockAddr(address, options)
  if (local !== undefined && "_tag" in local) return local
  const s = sys.socket(family, sys.constants.SOCK_STREAM)
  if (s < 0) return fd.errnoError(s, "socket", contextOf(address, options))
  const connection = new NativeConnection(sys, s, address)
  const failed = setOptions(sys, s, address, options) ?? bindLocal(sys, s, local, address, options)
  if (failed !== undefined) {
    connection.close()
    return failed
  }
  return connection
}

// Spurious wake-ups in a row after which a connect that the kernel still calls in progress
// (EALREADY) is given up rather than polled again: a level-triggered poll does not wake for a
// socket in SYN_SENT, so this only bounds a loop that should not exist.
const maxSpuriousWakes = 8

// After EINPROGRESS, when the zero-timeout poll(2) (`now`) did not find the stream established:
// the connect's outcome, proven (see fd.proveConnected). Any answer of that poll but plain
// POLLOUT, and every libuv wake-up (which may be stale), is proven.
const settle = (sys: Binding, s: number, sa: SockAddr, now: number, context: fd.Context<"inet" | "unix">, attempt: Timed) => {
  const writable = sys.constants.POLL_WRITABLE
  const ready = deadlines.within(attempt, (done: (outcome: Effect.Effect<number, ConnectError.ErrorForKind<"inet" | "unix">>) => void) =>
    fd.poll(sys, s, writable, context, done)
  )
  const prove = (spurious: number): Effect.Effect<void, DialError> => {
    const outcome = fd.proveConnected(sys, s, sa, context)
    if (outcome === "connected") return Effect.void
    if (outcome !== "pending") return Effect.fail(outcome)
    if (spurious >= maxSpuriousWakes) return Effect.fail(fd.errnoError(-EALREADY, "connect", context))
    return Effect.flatMap(ready, () => prove(spurious + 1))
  }
  if (now > 0) return prove(0)
  // A signal (SIGPROF under a profiler, SIGCHLD, ...) can interrupt even a poll(2) that does not
  // wait: EINTR says nothing about the socket, so wait for it as when nothing was ready.
  if (now < 0 && now !== -EINTR) return Effect.fail(fd.errnoError(now, "poll", context))
  return Effect.flatMap(ready, () => prove(0))
}

// The connection handed out: the fd's owner itself, so a connect allocates one object and no
// closures. The remote end is the address dialed. A unix client end is never bound here, so it
// is unnamed; the local end of a TCP connection is getsockname(2)'s, read on first access rather
// than on every connect (most callers never look, and the read costs a syscall and an address).
// The fd must still be this socket's when it is read: `detach()` reads it before letting go, and
// a read after the connection closed, or a failed read (ENOBUFS), throws the typed error with
// syscall "getsockname", never a number that may by then belong to another file.
class NativeConnection extends fd.Fd implements Connection.Connection {
  private known: Address.Tcp | Address.Unix | undefined
  constructor(sys: Binding, s: number, readonly remote: Connector.Dialable) {
    super(sys, s)
    this.known = remote._tag === "Tcp" ? undefined : unnamed
  }

  get local(): Address.Tcp | Address.Unix {
    if (this.known !== undefined) return this.known
    if (!this.isOpen()) throw fd.errnoError(-EBADF, "getsockname", { ...contextOf(this.remote, noOptions), kind: "raw" })
    const sa = this.sys.getsockname(this.fd)
    if (typeof sa === "number") throw fd.errnoError(sa, "getsockname", contextOf(this.remote, noOptions))
    this.known = fromSockAddr(sa) as Address.Tcp
    return this.known
  }

  override detach(): number {
    if (this.isOpen()) void this.local
    return super.detach()
  }

  // An Effect Socket over toNodeSocket(), made on first use (see internal/socket.ts).
  toSocket(): Effect.Effect<Socket.Socket> {
    return toSocket(() => this.toNodeSocket())
  }

  // The scope's release: closing an fd needs none of the fiber's refs (Scope.addFinalizer, not
  // Effect.addFinalizer: restoring them costs more than the connect itself).
  readonly release: Effect.Effect<void> = Effect.sync(() => this.close())
}
const unnamed = Address.unix("")
const noOptions: Connector.ConnectOptions = {}

// The error context: only built when there is an error to report.
const contextOf = (address: Connector.Dialable, options: Connector.ConnectOptions): fd.Context<"inet" | "unix"> => ({
  kind: address._tag === "Tcp" ? "inet" : "unix",
  address: Address.format(address),
  platform,
  localChosen: ConnectError.chosenLocal(options.local)
})

// The loop is held for about 1 ms of connects per turn (see internal/turns), and about as long
// for expiring per-attempt timeouts (see internal/deadlines): long enough that a turn's own cost
// is small, short enough that a timer's lag p99 stays a few ms with ten thousand in flight.
const sliceMs = 1
const turns = new Turns(sliceMs)
const deadlines = new Deadlines(sliceMs)
type Timed = Attempt<ConnectError.TimedOut> | undefined

// The sockaddrs of the last addresses dialed, by object: a service dials the same few addresses
// over and over, and a unix path's sockaddr is dear to build each time: its bytes are encoded
// into a fresh array on the JavaScript heap, which the addon's first read moves off the heap (an
// allocation and a copy: 0.6 to 1.2 µs a connect, measured, where a whole unix connect costs 8
// to 15 µs of CPU). Eight entries hold the 8-port TCP bench. An entry keeps the fields it was
// built from, since an address is a plain object that may have been changed since. A zone is
// looked up anew each time (interfaces come and go), so a zoned address is never kept.
class Known {
  constructor(
    readonly address: Connector.Dialable,
    readonly tag: Connector.Dialable["_tag"],
    readonly text: string,
    readonly port: number,
    readonly sa: SockAddr
  ) {}
}
const textOf = (address: Connector.Dialable) =>
  address._tag === "Tcp" ? address.host : address._tag === "UnixPath" ? address.path : address.name
const portOf = (address: Connector.Dialable) => (address._tag === "Tcp" ? address.port : 0)
const known: Array<Known | undefined> = Array.from({ length: 8 }, () => undefined)
let nextKnown = 0
const sockAddrOf = (address: Connector.Dialable) => {
  const text = textOf(address)
  const port = portOf(address)
  for (const entry of known) {
    if (entry?.address === address && entry.tag === address._tag && entry.text === text && entry.port === port) return entry.sa
  }
  const sa = sockAddr(address)
  if ("_tag" in sa || sa.scopeId) return sa
  known[nextKnown] = new Known(address, address._tag, text, port, sa)
  nextKnown = (nextKnown + 1) % known.length
  return sa
}

const held = (scope: Scope.Scope, connection: NativeConnection) =>
  Effect.as(Scope.addFinalizer(scope, connection.release), connection as Connection.Connection)

// Everything up to a connection or an error, in one synchronous step counted against the
// turn: socket(2), options, bind(2), connect(2), and, when connect(2) says EINPROGRESS, a
// zero-timeout poll(2) (see settle). Only a connect still in progress leaves this step, to
// wait on the loop (interruptibly, through `restore`).
const step = (
  sys: Binding,
  address: Connector.Dialable,
  options: Connector.ConnectOptions,
  restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
  attempt: Timed
) =>
  Effect.withFiber<Connection.Connection, DialError, Scope.Scope>((fiber) => {
    // The scope first: nothing may fail between opening the fd and handing it to the scope.
    const scope = Context.getUnsafe(fiber.context, Scope.Scope)
    const sa = sockAddrOf(address)
    const started = "_tag" in sa ? sa : open(sys, address, options, sa.family)
    if ("_tag" in sa || !(started instanceof NativeConnection)) return Effect.fail(started as DialError)
    const rc = sys.connect(started.fd, sa)
    const now = rc === -EINPROGRESS || rc === -EINTR ? sys.pollNow(started.fd, sys.constants.POLL_WRITABLE) : 0
    // POLLOUT without POLLERR or POLLHUP is the kernel's word, at this instant, that the stream
    // is established (a socket in SYN_SENT never reports it): no further syscall.
    if (rc === 0 || now === sys.constants.POLL_WRITABLE) return held(scope, started)
    if (rc !== -EINPROGRESS && rc !== -EINTR) {
      started.close()
      return Effect.fail(fd.errnoError(rc, "connect", contextOf(address, options)))
    }
    // EINTR: the connect goes on in the background, as with EINPROGRESS (connect(2)).
    return Effect.andThen(
      Effect.tapCause(restore(settle(sys, started.fd, sa, now, contextOf(address, options), attempt)), () => Effect.sync(() => started.close())),
      held(scope, started)
    )
  })

/**
 * A `Dial` over a binding. Tests pass a binding whose calls return an injected `-errno`: the
 * seam between the portable logic and the syscalls.
 *
 * Everything up to connect(2) is one synchronous step, taken when the event loop's turn has
 * room for it (so ten thousand connects at once do not stall timers and I/O); only the waits
 * (for a turn, for a connect in progress) can be interrupted. The fd is closed at once when the
 * dial fails or is interrupted, and by the scope after a success. It applies the per-attempt
 * timeout itself (`appliesTimeout`): one timer for the earliest deadline of all attempts, and
 * expiries taken in slices of the event loop's turns, so attempts that time out together do
 * not stall timers and I/O.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (sys: Binding): Connector.Dial => {
  const untimed = (address: Connector.Dialable, options: Connector.ConnectOptions, attempt: Timed) => {
    // The wait for a turn comes before any fd exists: it needs no mask, and runs as the caller's
    // fiber is (interruptible or not).
    const masked = Effect.uninterruptibleMask((restore) => step(sys, address, options, restore, attempt))
    if (turns.enterNow()) return masked
    if (attempt === undefined) return turns.waitThen(masked)
    const wait = deadlines.within<void, never, ConnectError.TimedOut>(attempt, (done) => turns.enter(() => done(Effect.void)))
    return Effect.andThen(Effect.andThen(wait, turns.admitted), masked)
  }
  // The per-attempt timeout from the moment the attempt runs, in the shared deadline queue
  // rather than a timer and a racing fiber per attempt.
  const timed = (address: Connector.Dialable, options: Connector.ConnectOptions, timedOut?: () => ConnectError.TimedOut) => {
    const ms = options.timeout === undefined || timedOut === undefined ? Infinity : Duration.toMillis(options.timeout)
    if (ms === Infinity) return untimed(address, options, undefined)
    return Effect.suspend(() => {
      const attempt = deadlines.add(ms, timedOut!)
      return Effect.ensuring(untimed(address, options, attempt), Effect.sync(() => deadlines.remove(attempt)))
    })
  }
  return Object.assign(timed, { appliesTimeout: true })
}

/**
 * A `Connector` on a given binding (by default the addon, loaded now if it was not), resolving
 * names with the `Resolver` in context. Where the addon cannot be loaded (see `Addon`), it is
 * `NodeConnector`'s, and says so with the load error, once, at Debug level: the dials pay nothing
 * for the choice.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (sys?: Binding): Effect.Effect<Connector.Connector["Service"], never, Resolver.Resolver> =>
  Effect.suspend(() => {
    const addon = sys ?? load()
    if (typeof addon !== "string") return Connector.make(dial(addon))
    return Effect.andThen(
      Effect.logDebug("NativeConnector falls back to NodeConnector (node:net)", unsupported("NativeConnector", addon)),
      NodeConnector.make()
    )
  })

/**
 * The `Connector` on the native addon, without a `Resolver` (bring your own); `NodeConnector`'s
 * where the addon cannot be loaded (see {@link make}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutResolver: Layer.Layer<Connector.Connector, never, Resolver.Resolver> = Layer.effect(
  Connector.Connector,
  make()
)

/**
 * The `Connector` on the native addon, resolving names with `node:dns`: the package's default.
 * Where the addon cannot be loaded (see `Addon`), `NodeConnector`'s, said once at Debug level.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = Layer.provide(layerWithoutResolver, NodeResolver.layer)
