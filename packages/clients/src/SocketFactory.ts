/**
 * Our connect as a socket factory, for any client that takes one: `(target) => Promise<net.Socket>`,
 * a connected socket. The entry points of the other modules are built on it.
 *
 * @since 0.1.0
 */
import { Address, type Connection, Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import type { Socket } from "node:net"
import { opener } from "./internal/open.js"

/**
 * Where a client wants to go: a host (an IP literal or a name) and port, or a unix socket path.
 *
 * @since 0.1.0
 * @category models
 */
export type Target = { readonly host: string; readonly port: number } | { readonly path: string }

/**
 * One connect, the way the user wants it: the default is `Connector.connect`; wrap it to apply
 * policies (timeout, `Policy.retryTransient`, `Policy.deadline`, racing) to every connection a
 * client makes. Its failure reaches the client as the error itself.
 *
 * @since 0.1.0
 * @category models
 */
export type Dial<E = DefaultError, R = Connector.Connector | Scope.Scope> = (
  address: Address.Tcp | Address.Unix
) => Effect.Effect<Connection.Connection, E, R>

/**
 * What `Connector.connect` fails with for the addresses a client asks for.
 *
 * @since 0.1.0
 * @category models
 */
export type DefaultError = Connector.ErrorFor<Address.Tcp> | Connector.ErrorFor<Address.Unix>

/**
 * What a factory needs from context: a `Connector`, and whatever the dial needs besides the
 * scope each socket gets.
 *
 * @since 0.1.0
 * @category models
 */
export type Requires<R> = Connector.Connector | Exclude<R, Scope.Scope>

/**
 * The default `Dial`: `Connector.connect` with no options, through whichever `Connector` is in
 * context. Under the clients (`BENCH_ROWS=clients npm run bench`) `NativeConnector` measured as
 * fast as `NodeConnector` or faster, but for undici, where the two were within the noise; and
 * `NativeConnector.layer` falls back to `NodeConnector` by itself where the addon cannot load.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultDial: Dial = (address) => Connector.connect(address)

/**
 * The address of a target.
 *
 * @since 0.1.0
 * @category constructors
 */
export const addressOf = (target: Target): Address.Tcp | Address.Unix =>
  "path" in target ? Address.unix(target.path) : Address.tcp(target.host, target.port)

/**
 * A socket factory over `dial` on the current runtime. Each socket has its own scope, closed
 * when the socket closes; a failed dial rejects with the dial's error itself.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<(target: Target) => Promise<Socket>, never, Requires<R>> =>
  opener(dial, (open) => (target) =>
    new Promise<Socket>((resolve, reject) => {
      open(target, (error, socket) => error === undefined ? resolve(socket!) : reject(error))
    }))
