/**
 * `NodeConnector.layer`: core's `Connector` on `node:net`, the portable one. Each attempt is one
 * `net.connect`: libuv's own non-blocking connect, with no addon. Core does the rest as for
 * `NativeConnector`: input checks, resolution, racing, the per-attempt timeout, spans and
 * metrics. Node's `errno`/`code`/`syscall` go through core's errno table (`ConnectError.fromErrno`),
 * so the errors are the same tagged errors, with the same fields, as `NativeConnector`'s.
 *
 * What `node:net` cannot do is refused before any socket exists, with `InvalidAddress`
 * (field `"option"`, `"path"`, `"name"` or `"host"`) naming it, never silently ignored:
 * - `reuseAddress`: libuv sets SO_REUSEADDR itself whenever it binds (and only then), so
 *   `reuseAddress: true` is honoured with `local` and `reuseAddress: false` without it; the
 *   other two combinations are refused.
 * - `linux.synRetries`, `linux.userTimeout`: `node:net` has no TCP_SYNCNT or TCP_USER_TIMEOUT.
 * - a unix path or abstract name whose bytes are not UTF-8 text: `node:net` takes paths as
 *   strings and encodes them as UTF-8.
 * Abstract names are supported (Linux): Node connects to a path that starts with a NUL byte.
 *
 * Its connection's `toNodeSocket()` is the `net.Socket` that connected, with no adoption, and
 * `detach()` always throws: libuv owns the fd and cannot let go of it without closing it.
 *
 * @since 0.2.0
 */
import { Address, type Connection, ConnectError, Connector, Errno, type Resolver } from "@effect-connect/core"
import { Context, Effect, Layer, Scope } from "effect"
import type * as Socket from "effect/socket/Socket"
import * as Net from "node:net"
import { networkInterfaces } from "node:os"
import { maxPathBytes, sunPathMax } from "./internal/sockaddr.js"
import { toSocket } from "./internal/socket.js"
import * as NodeResolver from "./NodeResolver.js"

const platform = Errno.currentPlatform

type DialError = ConnectError.InetError | ConnectError.UnixError | ConnectError.InvalidAddress

const invalid = (address: Connector.Dialable, field: ConnectError.InvalidAddress["field"], reason: string) =>
  new ConnectError.InvalidAddress({ input: Address.format(address), field, reason })

const cannot = (address: Connector.Dialable, option: string, why: string) =>
  invalid(address, "option", `${option} cannot be honoured by NodeConnector: ${why} (NativeConnector can)`)

// The options node:net cannot honour, named: the first one, or undefined. Core has checked
// their values already.
const unsupported = (address: Connector.Dialable, options: Connector.ConnectOptions) => {
  const bound = options.local !== undefined
  if (options.reuseAddress === true && !bound) {
    return cannot(address, "reuseAddress", "libuv sets SO_REUSEADDR only when it binds, so only together with local")
  }
  if (options.reuseAddress === false && bound) {
    return cannot(address, "reuseAddress", "libuv always sets SO_REUSEADDR when it binds to local")
  }
  if (options.linux?.synRetries !== undefined) return cannot(address, "linux.synRetries", "node:net cannot set TCP_SYNCNT")
  if (options.linux?.userTimeout !== undefined) return cannot(address, "linux.userTimeout", "node:net cannot set TCP_USER_TIMEOUT")
  return undefined
}

// A zone as node:net takes it: libuv reads a zone as an interface name only, so an index (`%2`)
// becomes its interface's name. A zone no interface has is the host's problem, as in
// NativeConnector.
const withZone = (address: Address.Tcp): string | ConnectError.InvalidAddress => {
  // Most hosts have no zone: nothing to split.
  if (!address.host.includes("%")) return address.host
  const [host, zone] = address.host.split("%") as [string, string]
  const interfaces = Object.entries(networkInterfaces())
  const found = /^\d+$/.test(zone)
    ? interfaces.find(([, infos]) => infos?.some((i) => i.family === "IPv6" && i.scopeid === Number(zone)))?.[0]
    : interfaces.find(([name]) => name === zone)?.[0]
  return found === undefined ? invalid(address, "host", `has an unknown zone: ${zone}`) : `${host}%${found}`
}

// A unix name as node:net takes it: a string it encodes as UTF-8, so a name with other bytes
// (Address.encodeName's U+DC80..U+DCFF) cannot be reached through it. An abstract name is the
// path with a leading NUL byte.
const unixPath = (address: Address.Unix): string | ConnectError.InvalidAddress | ConnectError.NameTooLong => {
  const [text, field] = address._tag === "UnixPath" ? [address.path, "path" as const] : [address.name, "name" as const]
  // A name without surrogates is well-formed text: its bytes are its UTF-8, counted without
  // encoding it (twice) on every connect. Only one with surrogates (escaped bytes, or none at
  // all) needs comparing.
  let length: number
  if (typeof text === "string" && !surrogate.test(text)) {
    length = Buffer.byteLength(text, "utf8")
  } else {
    const bytes = Address.encodeName(text)
    if (bytes === undefined || !Buffer.from(text, "utf8").equals(bytes)) {
      return invalid(address, field, "has bytes that are not UTF-8, which node:net cannot pass (it encodes paths as UTF-8): use NativeConnector")
    }
    length = bytes.length
  }
  if (address._tag === "Abstract") return `\0${text}`
  return length > maxPathBytes ? ConnectError.nameTooLong(Address.format(address), sunPathMax, "connect", platform) : text
}

const surrogate = /[\uD800-\uDFFF]/

// What net.connect is given, or why the address or options cannot be dialed through it.
const connectOptions = (address: Connector.Dialable, options: Connector.ConnectOptions): Net.NetConnectOpts | DialError => {
  const refused = unsupported(address, options)
  if (refused !== undefined) return refused
  // noDelay and keepAlive mean nothing to a unix socket: Node skips them there (NativeConnector
  // sets SO_KEEPALIVE, which the kernel ignores for one).
  if (address._tag !== "Tcp") {
    const path = unixPath(address)
    return typeof path === "string" ? { path } : path
  }
  const host = withZone(address)
  if (typeof host !== "string") return host
  // An IP literal is never looked up, and it is the one address to try. The options set one by
  // one: this runs on every connect.
  const opts: Net.TcpNetConnectOpts = { host, port: address.port, autoSelectFamily: false }
  if (options.noDelay !== undefined) opts.noDelay = options.noDelay
  if (options.keepAlive !== undefined) opts.keepAlive = options.keepAlive
  const local = options.local
  if (local?.host !== undefined) opts.localAddress = local.host
  if (local?.port !== undefined) opts.localPort = local.port
  return opts
}

const syscallOf = (syscall: unknown): ConnectError.Syscall =>
  ConnectError.Syscall.literals.includes(syscall as ConnectError.Syscall) ? syscall as ConnectError.Syscall : "connect"

/**
 * A `node:net` error as core's tagged error: Node's `errno` (a negative number) through the
 * table, with Node's `code` as the name of a number the table lacks (`UnknownErrno`); an error
 * with no errno number keeps its `code` as `UnknownErrno`'s `errno`. Never the bare Error.
 *
 * @since 0.2.0
 * @category errors
 */
export const fromNodeError = (
  error: unknown,
  address: Connector.Dialable,
  options: Connector.ConnectOptions
): ConnectError.InetError | ConnectError.UnixError => {
  const { errno, code, syscall } = (typeof error === "object" && error !== null ? error : {}) as NodeJS.ErrnoException
  const context = {
    kind: address._tag === "Tcp" ? "inet" as const : "unix" as const,
    syscall: syscallOf(syscall),
    address: Address.format(address),
    platform,
    localChosen: ConnectError.chosenLocal(options.local),
    ...(typeof code === "string" ? { errnoName: code } : {})
  }
  return ConnectError.fromErrno(typeof errno === "number" ? -errno : typeof code === "string" ? code : "UNKNOWN", context)
}

const unnamed = Address.unix("")
const ignore = () => {}

// The connection handed out, over the net.Socket that connected. Owners: the scope until the
// socket is closed; `toNodeSocket()` lets the caller use the socket, and the scope still
// destroys it, once.
class NodeConnection implements Connection.Connection {
  private known: Address.Tcp | Address.Unix | undefined
  private handed = false
  private closed = false
  /**
   * libuv's fd of the socket (`_handle.fd`, an internal of Node's; -1 where libuv has none to
   * show, as on Windows), read when the connect succeeded. The socket owns it: never close it.
   */
  readonly fd: number
  constructor(private readonly socket: Net.Socket, readonly remote: Connector.Dialable) {
    this.known = remote._tag === "Tcp" ? undefined : unnamed
    this.fd = (socket as unknown as { readonly _handle?: { readonly fd?: number } })._handle?.fd ?? -1
    // Until the caller takes the socket, an error on it (a reset by the peer) must not be an
    // unhandled 'error' event; it is the caller's to see when it reads or writes.
    socket.on("error", ignore)
  }

  // socket.address() (getsockname(2)) on first access; like NativeConnection, a read once the
  // socket is gone throws BadDescriptor rather than guessing.
  get local(): Address.Tcp | Address.Unix {
    if (this.known !== undefined) return this.known
    const info: Partial<Net.AddressInfo> = this.socket.destroyed ? {} : this.socket.address()
    if (info.address === undefined || info.port === undefined) {
      throw ConnectError.fromErrno("EBADF", { kind: "raw", syscall: "getsockname", address: Address.format(this.remote), platform })
    }
    this.known = Address.tcp(info.address, info.port)
    return this.known
  }

  toNodeSocket(): Net.Socket {
    if (this.closed) throw new Error(`the net.Socket of ${Address.format(this.remote)} is closed: it cannot be handed out`)
    if (!this.handed) {
      this.handed = true
      this.socket.off("error", ignore)
    }
    return this.socket
  }

  detach(): number {
    throw new Error(
      `the fd of ${Address.format(this.remote)} is owned by its net.Socket (NodeConnector): libuv cannot let go of it, use toNodeSocket() or NativeConnector`
    )
  }

  // An Effect Socket over the net.Socket, made on first use (see internal/socket.ts).
  toSocket(): Effect.Effect<Socket.Socket> {
    return toSocket(() => this.toNodeSocket())
  }

  readonly release: Effect.Effect<void> = Effect.sync(() => {
    if (this.closed) return
    this.closed = true
    this.socket.destroy()
  })
}

// One net.connect, until 'connect' or 'error'; interruption (the per-attempt timeout included)
// destroys the socket.
const connecting = (address: Connector.Dialable, options: Connector.ConnectOptions, opts: Net.NetConnectOpts) =>
  Effect.callback<NodeConnection, ConnectError.InetError | ConnectError.UnixError>((resume) => {
    let socket: Net.Socket
    try {
      socket = Net.connect(opts)
    } catch (error) {
      resume(Effect.fail(fromNodeError(error, address, options)))
      return
    }
    const failed = (error: unknown) => {
      socket.off("connect", connected)
      socket.destroy()
      resume(Effect.fail(fromNodeError(error, address, options)))
    }
    const connected = () => {
      socket.off("error", failed)
      resume(Effect.succeed(new NodeConnection(socket, address)))
    }
    socket.once("error", failed)
    socket.once("connect", connected)
    return Effect.sync(() => {
      socket.off("error", failed)
      socket.off("connect", connected)
      socket.destroy()
    })
  })

/**
 * A `Dial` on `net.connect`: what cannot be honoured is refused before any socket exists; the
 * socket is destroyed at once when the connect fails or is interrupted, and by the scope after a
 * success. Core applies the per-attempt timeout around it.
 *
 * @since 0.2.0
 * @category constructors
 */
export const dial: Connector.Dial = (address, options) =>
  Effect.withFiber<Connection.Connection, DialError, Scope.Scope>((fiber) => {
    const opts = connectOptions(address, options)
    if ("_tag" in opts) return Effect.fail(opts)
    const scope = Context.getUnsafe(fiber.context, Scope.Scope)
    // Between the connect and the scope's finalizer nothing may be interrupted.
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        restore(connecting(address, options, opts)),
        (connection) => Effect.as(Scope.addFinalizer(scope, connection.release), connection as Connection.Connection)
      )
    )
  })

/**
 * A `Connector` on `node:net`, resolving names with the `Resolver` in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (): Effect.Effect<Connector.Connector["Service"], never, Resolver.Resolver> => Connector.make(dial)

/**
 * The `Connector` on `node:net`, without a `Resolver` (bring your own).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWithoutResolver: Layer.Layer<Connector.Connector, never, Resolver.Resolver> = Layer.effect(
  Connector.Connector,
  make()
)

/**
 * The `Connector` on `node:net`, resolving names with `node:dns`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = Layer.provide(layerWithoutResolver, NodeResolver.layer)
