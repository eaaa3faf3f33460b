/**
 * mysql2's `stream` option over our connect: `mysql.createConnection({ ..., stream })`, also for pools.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import type { Duplex } from "node:stream"
import { DialSocket } from "./internal/DialSocket.js"
import { objectProblem, opener, type Wanted } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * The options mysql2 hands its `stream` factory (its `{ config }`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  readonly config: { readonly host?: string; readonly port?: number; readonly socketPath?: string }
}

/**
 * The synchronous `stream` factory mysql2 calls for each connection: it dials at once to the
 * connection's `socketPath`, or its `host` and `port`. A failed dial destroys the stream with the
 * dial's error itself, which mysql2 hands to the connect's callback or promise. Options that are
 * none (from a caller other than mysql2) destroy it the same way with the InvalidOption naming
 * `Mysql2.options` or `Mysql2.config`; junk in the config's fields, with the connect's
 * InvalidAddress naming `host`, `port` or `path`.
 *
 * @example
 * ```ts
 * import { Mysql2 } from "@effect-connect/clients"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import mysql from "mysql2/promise"
 *
 * // mysql2's connections are dialed by our connect: a refusal rejects `createConnection` with
 * // `ConnectionRefused` itself.
 * const rows = Effect.gen(function*() {
 *   const stream = yield* Mysql2.stream()
 *   const connection = yield* Effect.acquireRelease(
 *     Effect.tryPromise(() => mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "app", database: "app", stream })),
 *     (connection) => Effect.promise(() => connection.end())
 *   )
 *   const [rows] = yield* Effect.tryPromise(() => connection.query("SELECT 1 AS one"))
 *   return rows
 * }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<(options: StreamOptions) => Duplex, never, Requires<R>> =>
  opener(dial, (open) => (options: StreamOptions) => new DialSocket(open, wanted(options)).start())

// Options or a config that are none come from a caller other than mysql2: handed on to the stream
// as the InvalidOption that names them, not thrown as a TypeError from mysql2's constructor.
const wanted = (options: StreamOptions): Wanted => {
  const problem = objectProblem("Mysql2.options", options) ?? objectProblem("Mysql2.config", options.config)
  if (problem !== undefined) return problem
  const { host, port, socketPath } = options.config
  return socketPath ? { path: socketPath } : { host: host ?? "localhost", port: port ?? 3306 }
}
