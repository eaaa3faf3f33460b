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
import { Duration, Effect, Layer } from "effect"
import { type Binding, binding } from "./internal/binding.js"
import * as fd from "./internal/fd.js"
import { domainOf, fromSockAddr, toSockAddr } from "./internal/sockaddr.js"
import * as NodeResolver from "./NodeResolver.js"

const platform = Errno.currentPlatform
const EINPROGRESS = Errno.codeOf("EINPROGRESS", platform)
const EINTR = Errno.codeOf("EINTR", platform)

const unsupported = (input: string, option: string) =>
  Effect.fail(new ConnectError.InvalidAddress({ input, field: "option", reason: `${option} is not supported on this platform` }))

// setsockopt(2) for each option asked for, before the connect so it covers the handshake.
const setOptions = (sys: Binding, s: number, address: Connector.Dialable, options: Connector.ConnectOptions, context: fd.Context<"inet" | "unix">) => {
  const c = sys.constants
  const input = Address.format(address)
  const set = (level: number, name: number | undefined, value: number, option: string) =>
    name === undefined ? unsupported(input, option) : fd.check(sys.setsockoptInt(s, level, name, value), "setsockopt", context)
  const tcp = address._tag === "Tcp"
  return Effect.all([
    tcp && options.noDelay !== undefined ? set(c.IPPROTO_TCP, c.TCP_NODELAY, options.noDelay ? 1 : 0, "noDelay") : Effect.void,
    options.keepAlive !== undefined ? set(c.SOL_SOCKET, c.SO_KEEPALIVE, options.keepAlive ? 1 : 0, "keepAlive") : Effect.void,
    options.reuseAddress !== undefined ? set(c.SOL_SOCKET, c.SO_REUSEADDR, options.reuseAddress ? 1 : 0, "reuseAddress") : Effect.void,
    tcp && options.linux?.synRetries !== undefined
      ? set(c.IPPROTO_TCP, c.TCP_SYNCNT, options.linux.synRetries, "linux.synRetries")
      : Effect.void,
    tcp && options.linux?.userTimeout !== undefined
      ? set(c.IPPROTO_TCP, c.TCP_USER_TIMEOUT, Duration.toMillis(options.linux.userTimeout), "linux.userTimeout")
      : Effect.void
  ], { discard: true })
}

const bindLocal = (sys: Binding, s: number, address: Address.Tcp, local: NonNullable<Connector.ConnectOptions["local"]>, context: fd.Context<"inet">) => {
  const v6 = Address.ipVersion(address) === 6
  const at = Address.tcp(local.host ?? (v6 ? "::" : "0.0.0.0"), local.port ?? 0)
  return Effect.flatMap(toSockAddr(at, "bind"), (sa) => fd.check(sys.bind(s, sa), "bind", context))
}

// getsockname/getpeername after the connect; an unnamed unix client end reads as unix("").
const endpoints = (sys: Binding, s: number) => {
  const local = sys.getsockname(s)
  const remote = sys.getpeername(s)
  const asStream = (sa: typeof local) =>
    typeof sa === "number" ? Address.unix("") : (fromSockAddr(sa) as Address.Tcp | Address.Unix)
  return { local: asStream(local), remote: asStream(remote) }
}

/**
 * A `Dial` over a binding. Tests pass a binding whose calls return an injected `-errno`: the
 * seam between the portable logic and the syscalls.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (sys: Binding): Connector.Dial => (address, options) =>
  Effect.gen(function*() {
    const context = {
      kind: address._tag === "Tcp" ? "inet" as const : "unix" as const,
      address: Address.format(address),
      platform,
      localChosen: options.local !== undefined
    }
    const sa = yield* toSockAddr(address)
    const socket = yield* fd.open(sys, domainOf(address), sys.constants.SOCK_STREAM, context)
    yield* setOptions(sys, socket.fd, address, options, context)
    if (options.local !== undefined && address._tag === "Tcp") {
      yield* bindLocal(sys, socket.fd, address, options.local, { ...context, kind: "inet" })
    }
    const rc = sys.connect(socket.fd, sa)
    if (rc === -EINPROGRESS || rc === -EINTR) {
      // EINTR: the connect goes on in the background, as with EINPROGRESS (connect(2)).
      yield* fd.ready(sys, socket.fd, sys.constants.POLL_WRITABLE, context)
      yield* fd.pendingError(sys, socket.fd, context)
    } else {
      yield* fd.check(rc, "connect", context)
    }
    const { local, remote } = endpoints(sys, socket.fd)
    return {
      fd: socket.fd,
      local,
      remote,
      toNodeSocket: () => socket.toNodeSocket(),
      toSocket: () => NodeSocket.fromDuplex(Effect.sync(() => socket.toNodeSocket()))
    } satisfies Connection.Connection
  })

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
