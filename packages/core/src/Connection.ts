/**
 * A connected stream socket, as a `Connector` hands it out: scoped, closed exactly once when its
 * scope closes, whichever view of it was used.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { Socket } from "effect/socket/Socket"
import type { Socket as NetSocket } from "node:net"
import type * as Address from "./Address.js"

/**
 * A connected stream socket, with the views of it that clients need (an fd, a `net.Socket`, an
 * `effect/socket` `Socket`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  /**
   * The file descriptor. Exactly one owner closes it, once: the connection's scope, until
   * `toNodeSocket()` hands it to a `net.Socket` (which the scope then destroys) or `detach()` hands
   * it to the caller (the scope then leaves it alone). Closing it yourself while the scope or a
   * `net.Socket` owns it makes the later close hit whatever file reuses the number.
   */
  readonly fd: number
  /**
   * The local end: a unix client end is unnamed, `unix("")`. For TCP, getsockname(2), read on first
   * access (most callers never look, and the read would cost every connect a syscall) and kept.
   * Read it while the connection is open: once the fd is closed (the scope closed, or the
   * `net.Socket` from `toNodeSocket()` was destroyed) without a read, the number may already
   * belong to another file, so the access throws `BadDescriptor` (EBADF, syscall `getsockname`)
   * without asking the kernel; a read the kernel refuses (ENOBUFS) throws its tagged error.
   * `detach()` reads it before handing the fd over.
   */
  readonly local: Address.Tcp | Address.Unix
  /** The address connected to: for a name, the address that won. */
  readonly remote: Address.Tcp | Address.Unix
  /**
   * A `net.Socket` that adopts the fd. The first call moves ownership of the fd to Node; later
   * calls return the same socket; the connection's scope destroys it on close. It looks like any
   * connected `net.Socket`, and its `connect(...)` (which clients such as pg call themselves)
   * issues no connect(2): it emits 'connect' and 'ready' on the next tick and calls the callback.
   * Throws after `detach()` or once the scope has closed.
   */
  readonly toNodeSocket: () => NetSocket
  /**
   * Hands the fd to the caller, for clients that adopt a raw fd: the scope no longer closes it,
   * the caller must. Returns `fd`. Throws after `toNodeSocket()`, a previous `detach()`, or once
   * the scope has closed.
   */
  readonly detach: () => number
  /**
   * An `effect/socket` `Socket` over the same `net.Socket`, made when the Socket first runs: a
   * run after `detach()` or once the scope has closed fails with `SocketError` (its `reason` a
   * `SocketOpenError`, whose cause is the Error `toNodeSocket()` throws).
   */
  readonly toSocket: () => Effect.Effect<Socket>
}
