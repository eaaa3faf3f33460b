/**
 * postgres.js's `socket` option over our connect: `postgres({ ..., socket })`.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import type { Duplex } from "node:stream"
import { DialSocket } from "./internal/DialSocket.js"
import { opener, type Wanted } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

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
 * The `socket` function postgres.js calls for each connection: a socket to its `path`, or its
 * (first) `host` and `port`, handed over while it still dials, so that postgres.js's own
 * `connect_timeout` runs from the start of the dial and destroys it (`write CONNECT_TIMEOUT
 * host:port`, the dial cancelled and its fd closed). The socket carries `host` and `port`, as
 * postgres.js's own does: its TLS servername and its messages read them. A failed dial destroys
 * it with the dial's error itself, which postgres.js hands to the queries waiting for the
 * connection. (postgres.js's types do not declare `socket`, though it documents it: pass the
 * options through a variable.)
 *
 * @example
 * ```ts
 * import { Postgres } from "@effect-connect/clients"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import postgres from "postgres"
 *
 * // postgres.js's connections are dialed by our connect: a refusal rejects the query with
 * // `ConnectionRefused` itself. (`socket` is not in postgres.js's types: the options go in a variable.)
 * const rows = Effect.gen(function*() {
 *   const options = { host: "127.0.0.1", port: 5432, username: "app", database: "app", socket: yield* Postgres.socket() }
 *   const sql = yield* Effect.acquireRelease(Effect.sync(() => postgres(options)), (sql) => Effect.promise(() => sql.end()))
 *   return yield* Effect.tryPromise(() => sql`SELECT 1 AS one`)
 * }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const socket = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<(options: SocketOptions) => Duplex, never, Requires<R>> =>
  opener(dial, (open) => (options: SocketOptions) => {
    const target = wanted(options)
    const socket = new DialSocket(open, target)
    if (typeof target === "object" && target !== null && "host" in target) Object.assign(socket, { host: target.host, port: target.port })
    return socket.start()
  })

// Options that are none are handed on as the target, which the dial refuses by name.
const wanted = (options: SocketOptions): Wanted =>
  typeof options !== "object" || options === null ? options as never
  : options.path ? { path: options.path }
  : { host: first(options.host) ?? "localhost", port: first(options.port) ?? 5432 }
