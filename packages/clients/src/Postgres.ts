/**
 * postgres.js's `socket` option over our connect: `postgres({ ..., socket })`.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import { Effect, type Scope } from "effect"
import type { Socket } from "node:net"
import * as SocketFactory from "./SocketFactory.js"

/**
 * The options postgres.js hands its `socket` function.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketOptions {
  readonly host?: ReadonlyArray<string> | string | undefined
  readonly port?: ReadonlyArray<number> | number | undefined
  readonly path?: string | false | undefined
}

const first = <A>(value: ReadonlyArray<A> | A | undefined): A | undefined =>
  Array.isArray(value) ? value[0] : value as A | undefined

/**
 * The `socket` function postgres.js calls for each connection: a connected socket to its `path`,
 * or its (first) `host` and `port`. A failed dial rejects with the dial's error itself, which
 * postgres.js hands to the queries waiting for the connection. (postgres.js's types do not
 * declare `socket`, though it documents it: pass the options through a variable.)
 *
 * @example
 * const socket = yield* Postgres.socket()
 * const sql = postgres({ host: "127.0.0.1", port: 5432, socket })
 *
 * @since 0.1.0
 * @category constructors
 */
export const socket = <E = SocketFactory.DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: SocketFactory.Dial<E, R>
): Effect.Effect<(options: SocketOptions) => Promise<Socket>, never, SocketFactory.Requires<R>> =>
  Effect.map(SocketFactory.make(dial), (make) => (options: SocketOptions) =>
    // Options that are none are handed on as the target, which the factory refuses by name.
    typeof options !== "object" || options === null ? make(options as never)
    : make(options.path ? { path: options.path } : { host: first(options.host) ?? "localhost", port: first(options.port) ?? 5432 }))
