/**
 * A connected stream socket, as a `Connector` hands it out: scoped, closed exactly once when its
 * scope closes, whichever view of it was used.
 *
 * @since 0.1.0
 */
import type { Socket } from "@effect/platform/Socket"
import type { Effect } from "effect"
import type { Socket as NetSocket } from "node:net"
import type * as Address from "./Address.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  /** The file descriptor; owned by the connection until `toNodeSocket` hands it to Node. */
  readonly fd: number
  /** getsockname(2) after the connect; a unix client end is unnamed: `unix("")`. */
  readonly local: Address.Tcp | Address.Unix
  /** The address connected to: for a name, the address that won. */
  readonly remote: Address.Tcp | Address.Unix
  /**
   * A `net.Socket` that adopts the fd. The first call moves ownership of the fd to Node; later
   * calls return the same socket; the connection's scope destroys it on close.
   */
  readonly toNodeSocket: () => NetSocket
  /** An `@effect/platform` `Socket` over the same `net.Socket`. */
  readonly toSocket: () => Effect.Effect<Socket>
}
