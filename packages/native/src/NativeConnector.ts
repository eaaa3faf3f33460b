/**
 * `NativeConnector.layer`: core's `Connector` on the native addon. Each attempt is a
 * non-blocking socket(2) with SOCK_CLOEXEC, the options, an optional bind(2), one connect(2),
 * and, on EINPROGRESS, a libuv poll for writable on the main loop followed by
 * getsockopt(SO_ERROR). No thread pool, no blocking call; the fd is closed on every path that
 * does not hand out a `Connection`, interruption included.
 *
 * @since 0.1.0
 */
import { Address, type Connection, ConnectError, Connector, Errno, type Resolver } from "@effect-connect/core"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { Duration, Effect, Layer, Scope } from "effect"
import { type Binding, binding, type SockAddr } from "./internal/binding.js"
import * as fd from "./internal/fd.js"
import { domainOf, sockAddr } from "./internal/sockaddr.js"
import { Turns } from "./internal/turns.js"
import * as NodeResolver from "./NodeResolver.js"

const platform = Errno.currentPlatform
const EINPROGRESS = Errno.codeOf("EINPROGRESS", platform)
const EINTR = Errno.codeOf("EINTR", platform)
const EALREADY = Errno.codeOf("EALREADY", platform)

type DialError = ConnectError.InetError | ConnectError.UnixError | ConnectError.InvalidAddress

// setsockopt(2) for each option asked for, before the connect so it covers the handshake: the
// first failure, or undefined.
const setOptions = (sys: Binding, s: number, address: Connector.Dialable, options: Connector.ConnectOptions, context: fd.Context<"inet" | "unix">): DialError | undefined => {
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
      return new ConnectError.InvalidAddress({ input: context.address, field: "option", reason: `${option} is not supported on this platform` })
    }
    const rc = sys.setsockoptInt(s, level, name, value)
    if (rc < 0) return fd.errnoError(rc, "setsockopt", context)
  }
  return undefined
}

// The sockaddr to bind(2) to, if the options ask for one; a zone no interface has is the
// option's problem.
const localSockAddr = (address: Connector.Dialable, options: Connector.ConnectOptions, context: fd.Context<"inet" | "unix">) => {
  if (options.local === undefined || address._tag !== "Tcp") return undefined
  const v6 = Address.ipVersion(address) === 6
  const sa = sockAddr(Address.tcp(options.local.host ?? (v6 ? "::" : "0.0.0.0"), options.local.port ?? 0), "bind")
  return "_tag" in sa && sa._tag === "InvalidAddress"
    ? new ConnectError.InvalidAddress({ input: context.address, field: "option", reason: `local.host ${sa.reason}` })
    : sa
}

// bind(2), after the options (SO_REUSEADDR must come first): the error, or undefined.
const bindLocal = (sys: Binding, s: number, local: SockAddr | undefined, context: fd.Context<"inet" | "unix">): DialError | undefined => {
  const rc = local === undefined ? 0 : sys.bind(s, local)
  return rc < 0 ? fd.errnoError(rc, "bind", { ...context, kind: "inet" }) : undefined
}

// socket(2), the options, bind(2) and connect(2), in one synchronous step: the fd with
// connect(2)'s answer, or the first error with the fd already closed. Every sockaddr is built
// before socket(2), so input that has none never opens an fd.
const start = (sys: Binding, address: Connector.Dialable, options: Connector.ConnectOptions, context: fd.Context<"inet" | "unix">) => {
  const sa = sockAddr(address)
  if ("_tag" in sa) return sa
  const local = localSockAddr(address, options, context)
  if (local !== undefined && "_tag" in local) return local
  const s = sys.socket(domainOf(address), sys.constants.SOCK_STREAM)
  if (s < 0) return fd.errnoError(s, "socket", context)
  const socket = new fd.Fd(sys, s)
  const failed = setOptions(sys, s, address, options, context) ?? bindLocal(sys, s, local, context)
  if (failed !== undefined) {
    socket.close()
    return failed
  }
  return { socket, sa, rc: sys.connect(s, sa) }
}

// Spurious wake-ups in a row after which a connect that the kernel still calls in progress
// (EALREADY) is given up rather than polled again: a level-triggered poll does not wake for a
// socket in SYN_SENT, so this only bounds a loop that should not exist.
const maxSpuriousWakes = 8

// After EINPROGRESS: the connect's outcome, proven (see fd.proveConnected). A connect to
// loopback is usually done by now, which a zero-timeout poll(2) tells without waiting a loop
// turn: POLLOUT without POLLERR or POLLHUP is the kernel's word, at this instant, that the
// stream is established (a socket in SYN_SENT never reports it), so that hot path costs no
// further syscall. Any other answer, and every libuv wake-up (which may be stale), is proven.
const settle = (sys: Binding, s: number, sa: SockAddr, context: fd.Context<"inet" | "unix">) => {
  const writable = sys.constants.POLL_WRITABLE
  const prove = (spurious: number): Effect.Effect<void, ConnectError.ErrorForKind<"inet" | "unix">> => {
    const outcome = fd.proveConnected(sys, s, sa, context)
    if (outcome === "connected") return Effect.void
    if (outcome !== "pending") return Effect.fail(outcome)
    if (spurious >= maxSpuriousWakes) return Effect.fail(fd.errnoError(-EALREADY, "connect", context))
    return Effect.flatMap(fd.ready(sys, s, writable, context), () => prove(spurious + 1))
  }
  const now = sys.pollNow(s, writable)
  if (now === writable) return Effect.void
  if (now > 0) return prove(0)
  // A signal (SIGPROF under a profiler, SIGCHLD, ...) can interrupt even a poll(2) that does not
  // wait: EINTR says nothing about the socket, so wait for it as when nothing was ready.
  if (now < 0 && now !== -EINTR) return Effect.fail(fd.errnoError(now, "poll", context))
  return Effect.flatMap(fd.ready(sys, s, writable, context), () => prove(0))
}

// The connection handed out. The remote end is the address dialed; the local end of a TCP
// connection is getsockname(2)'s, and a unix client end is never bound here, so it is unnamed.
const connection = (socket: fd.Fd, local: Address.Tcp | Address.Unix, remote: Connector.Dialable): Connection.Connection => ({
  fd: socket.fd,
  local,
  remote,
  toNodeSocket: () => socket.toNodeSocket(),
  detach: () => socket.detach(),
  toSocket: () => NodeSocket.fromDuplex(Effect.sync(() => socket.toNodeSocket()))
})
const unnamed = Address.unix("")

// About 0.5 ms of synchronous connect work per event-loop turn (see internal/turns).
const turns = new Turns(0.5)

/**
 * A `Dial` over a binding. Tests pass a binding whose calls return an injected `-errno`: the
 * seam between the portable logic and the syscalls.
 *
 * Everything up to connect(2) is one synchronous step, taken when the event loop's turn has
 * room for it (so ten thousand connects at once do not stall timers and I/O); only the waits
 * (for a turn, for a connect in progress) can be interrupted. The fd is closed at once when the
 * dial fails or is interrupted, and by the scope after a success.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (sys: Binding): Connector.Dial => (address, options) =>
  Effect.zipRight(turns.turn, Effect.uninterruptibleMask((restore) => {
    const context = {
      kind: address._tag === "Tcp" ? "inet" as const : "unix" as const,
      address: Address.format(address),
      platform,
      localChosen: options.local !== undefined
    }
    const started = turns.timed(() => start(sys, address, options, context))
    if ("_tag" in started) return Effect.fail(started)
    const { rc, sa, socket } = started
    const closeOnFailure = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.tapErrorCause(effect, () => Effect.sync(() => socket.close()))
    // Scope.addFinalizer, not Effect.addFinalizer: closing an fd needs none of the fiber's refs,
    // and restoring them costs more than the connect itself.
    const hold = (local: Address.Tcp | Address.Unix) =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.as(Scope.addFinalizer(scope, Effect.sync(() => socket.close())), connection(socket, local, address)))
    const keep = address._tag === "Tcp"
      ? Effect.suspend(() => fd.endpoint(sys.getsockname(socket.fd), "getsockname", context)).pipe(
        closeOnFailure,
        Effect.flatMap((local) => hold(local as Address.Tcp))
      )
      : hold(unnamed)
    if (rc === 0) return keep
    if (rc !== -EINPROGRESS && rc !== -EINTR) {
      socket.close()
      return Effect.fail(fd.errnoError(rc, "connect", context))
    }
    // EINTR: the connect goes on in the background, as with EINPROGRESS (connect(2)).
    return Effect.zipRight(closeOnFailure(restore(settle(sys, socket.fd, sa, context))), keep)
  }))

/**
 * A `Connector` on a given binding, resolving names with the `Resolver` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (sys: Binding = binding): Effect.Effect<Connector.Connector["Type"], never, Resolver.Resolver> =>
  Connector.make(dial(sys))

/**
 * The `Connector` on the native addon, without a `Resolver` (bring your own).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutResolver: Layer.Layer<Connector.Connector, never, Resolver.Resolver> = Layer.effect(
  Connector.Connector,
  make()
)

/**
 * The `Connector` on the native addon, resolving names with `node:dns`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = Layer.provide(layerWithoutResolver, NodeResolver.layer)
