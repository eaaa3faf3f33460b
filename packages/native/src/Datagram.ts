/**
 * Datagram sockets with the seed manual page's semantics: `connect` associates the socket with
 * a peer (datagrams go there, and only the peer's are received), `connect` again changes the
 * peer, and `connect(Address.unspecified)` (AF_UNSPEC) dissolves the association.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect, type Scope, Stream } from "effect"
import { withAddon } from "./internal/addon.js"
import * as fd from "./internal/fd.js"
import { fromSockAddr, toSockAddr } from "./internal/sockaddr.js"
import { Waiters } from "./internal/waiters.js"

/**
 * The kind of datagram socket `make` opens: UDP over IPv4 (AF_INET), UDP over IPv6 (AF_INET6),
 * or a unix datagram socket (AF_UNIX).
 *
 * @since 0.1.0
 * @category models
 */
export type Family = "udp4" | "udp6" | "unix"

/**
 * One datagram received: its bytes (at most `maxBytes`) and the address it came from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Message {
  readonly data: Uint8Array
  readonly from: Address.Address
}

/**
 * What a datagram operation fails with.
 *
 * @since 0.1.0
 * @category models
 */
export type Error = ConnectError.DatagramError | ConnectError.InvalidAddress

/**
 * A datagram socket, open until its scope closes: its fd, and its connect, send, receive and
 * addresses as effects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Datagram {
  readonly fd: number
  /** connect(2): associate, re-associate, or (to `Address.unspecified`) dissolve. */
  readonly connect: (peer: Address.Tcp | Address.Unix | Address.Unspecified) => Effect.Effect<void, Error>
  /**
   * send(2) to the peer; `DestinationRequired` when there is none. While the datagram cannot
   * be queued (a unix peer's queue is full) it waits, behind the sends already waiting:
   * concurrent sends go out in the order they were made.
   */
  readonly send: (data: Uint8Array) => Effect.Effect<number, Error>
  /**
   * The datagrams received, waiting on the main loop between them. Concurrent receives (of
   * several streams, or fibers) get the datagrams in the order they asked. Sends and receives
   * wait together; closing the scope fails those still waiting as after close (EBADF).
   */
  readonly receive: Stream.Stream<Message, Error>
  /** getpeername(2); `NotConnected` when there is no association. */
  readonly peer: Effect.Effect<Address.Address, Error>
  /** getsockname(2). */
  readonly local: Effect.Effect<Address.Address, Error>
}

/**
 * The options of `make`: SO_BROADCAST, a local address to bind to, and the largest datagram
 * received whole.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** SO_BROADCAST: without it, a connect to a broadcast address is `PermissionDenied { reason: "broadcast" }`. */
  readonly broadcast?: boolean
  /** bind(2) first: a unix datagram socket needs a name to receive replies. */
  readonly local?: Address.Tcp | Address.Unix
  /**
   * The largest datagram `receive` reads whole (a longer one is cut). An integer from 1 to
   * {@link maxBytesLimit}; default 65536, which holds any UDP datagram.
   */
  readonly maxBytes?: number
}

const EACCES = Errno.codeOf("EACCES", Errno.currentPlatform)
const EBADF = Errno.codeOf("EBADF", Errno.currentPlatform)

/**
 * The largest `maxBytes` (1 MiB): the addon receives into a buffer of that size for the call
 * only, so a bigger one would be a way to make every receive allocate without bound. (The addon's
 * `RECV_MAX`, known without it: a test holds the two equal.)
 *
 * @since 0.1.0
 * @category constants
 */
export const maxBytesLimit: number = 1024 * 1024

const option = (value: unknown, reason: string) =>
  new ConnectError.InvalidAddress({ input: ConnectError.shown(value), field: "option", reason })

/**
 * A datagram socket, closed when the scope closes. A `maxBytes` that is not an integer from 1
 * to {@link maxBytesLimit} is `InvalidAddress` (field `option`) before the socket is made. Where
 * the addon cannot be loaded (see `Addon`), `Unsupported`, after those checks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (family: Family, options: Options = {}): Effect.Effect<Datagram, Error | ConnectError.Unsupported, Scope.Scope> =>
  Effect.gen(function*() {
    // An untyped caller's typo must not quietly become AF_UNIX, the fallback of the choice below.
    if (family !== "udp4" && family !== "udp6" && family !== "unix") {
      return yield* new ConnectError.InvalidAddress({
        input: ConnectError.shown(family),
        field: "family",
        reason: `must be one of udp4, udp6, unix, got ${ConnectError.shown(family)}`
      })
    }
    if (typeof options !== "object" || options === null) {
      return yield* option(options, `options must be an object, got ${ConnectError.shown(options)}`)
    }
    const maxBytes = options.maxBytes ?? 65536
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > maxBytesLimit) {
      return yield* option(options.maxBytes, `maxBytes must be an integer from 1 to ${maxBytesLimit}, got ${ConnectError.shown(options.maxBytes)}`)
    }
    // A truthy string is no yes: SO_BROADCAST is set only when asked for with `true`.
    if (options.broadcast !== undefined && typeof options.broadcast !== "boolean") {
      return yield* option(options.broadcast, `broadcast must be a boolean, got ${ConnectError.shown(options.broadcast)}`)
    }
    const context = (address: string): fd.Context<"datagram"> => ({
      kind: "datagram",
      address,
      platform: Errno.currentPlatform,
      localChosen: options.local?._tag === "Tcp" ? ConnectError.chosenLocal(options.local) : options.local !== undefined
    })
    const binding = yield* withAddon("Datagram.make", Effect.succeed)
    const c = binding.constants
    const domain = family === "udp4" ? c.AF_INET : family === "udp6" ? c.AF_INET6 : c.AF_UNIX
    const socket = yield* fd.open(binding, domain, c.SOCK_DGRAM, context(""))
    const s = socket.fd
    if (options.broadcast) yield* fd.check(binding.setsockoptInt(s, c.SOL_SOCKET, c.SO_BROADCAST, 1), "setsockopt", context(""))
    if (options.local !== undefined) {
      const local = options.local
      yield* Effect.flatMap(toSockAddr(local, "bind"), (sa) => fd.check(binding.bind(s, sa), "bind", context(Address.format(local))))
    }
    let peer = ""
    // Once the scope has closed the socket, its number may already be another file's: every
    // operation then fails as EBADF would, without the kernel being asked about that number.
    const ifOpen = <A>(syscall: ConnectError.Syscall, operation: () => Effect.Effect<A, Error>): Effect.Effect<A, Error> =>
      Effect.suspend(() => socket.isOpen() ? operation() : fd.check(-EBADF, syscall, context(peer)) as Effect.Effect<never, Error>)
    // Sends and receives that would block wait their turn on one watch of the fd. The scope
    // fails the waiters still there as after close, and closes the watch, before the fd closes.
    const waiters = new Waiters(binding, s)
    yield* Effect.addFinalizer(() => Effect.sync(() => waiters.close()))
    const settle = <A>(result: A | number, syscall: ConnectError.Syscall): Effect.Effect<A, Error> =>
      typeof result === "number" && result < 0
        ? fd.check(result, syscall, context(peer)) as Effect.Effect<never, Error>
        : Effect.succeed(result as A)
    const whenReady = <A>(events: number, attempt: () => A | number): Effect.Effect<A, Error> => {
      const syscall = events === c.POLL_READABLE ? "recv" : "send"
      return ifOpen(syscall, () =>
        Effect.callback<A, Error>((resume) => {
          const cancel = waiters.run(events, attempt, (result, watchFailed) => resume(settle(result, watchFailed ? "poll" : syscall)))
          return cancel === undefined ? undefined : Effect.sync(cancel)
        }))
    }
    return {
      fd: s,
      connect: (to) =>
        ifOpen("connect", () => Effect.flatMap(toSockAddr(to), (sa) => {
          peer = to._tag === "Unspecified" ? "" : Address.format(to)
          const rc = binding.connect(s, sa)
          const ctx = context(Address.format(to))
          // EACCES is a broadcast destination without SO_BROADCAST, or a prohibition: ask.
          const denied = rc === -EACCES && fd.isBroadcastDenial(binding, s, sa) ? { ...ctx, permission: "broadcast" as const } : ctx
          return Effect.asVoid(fd.check(rc, "connect", denied))
        })),
      send: (data) =>
        data instanceof Uint8Array ? whenReady(c.POLL_WRITABLE, () => binding.send(s, data)) : Effect.fail(
          new ConnectError.InvalidAddress({ input: peer, field: "option", reason: `data must be a Uint8Array, got ${ConnectError.shown(data)}` })
        ),
      receive: Stream.fromEffectRepeat(
        Effect.map(whenReady(c.POLL_READABLE, () => binding.recvfrom(s, maxBytes)), (r) => ({
          data: r.data,
          from: fromSockAddr(r.from)
        }))
      ),
      peer: ifOpen("getpeername", () => fd.endpoint(binding.getpeername(s), "getpeername", context(peer))),
      local: ifOpen("getsockname", () => fd.endpoint(binding.getsockname(s), "getsockname", context(peer)))
    } satisfies Datagram
  })
