/**
 * pg's `stream` option over our connect: `new pg.Client({ ..., stream })`, `new pg.Pool({ ..., stream })`.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import type { Duplex } from "node:stream"
import { DialSocket } from "./internal/DialSocket.js"
import { opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * The synchronous `stream` factory pg calls for each connection. The socket dials when pg calls
 * its `connect`: over TCP to pg's host and port, or to the unix socket pg asks for (a `host`
 * starting with `/`: `<host>/.s.PGSQL.<port>`). A failed dial destroys it with the dial's error
 * itself, so `client.connect()` rejects with our tagged error; `end()` and
 * `connectionTimeoutMillis` close what it opened.
 *
 * @example
 * ```ts
 * import { Pg } from "@effect-connect/clients"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import pg from "pg"
 *
 * // pg's connections are dialed by our connect: a refusal rejects `client.connect()` with
 * // `ConnectionRefused` itself.
 * const rows = Effect.gen(function*() {
 *   const stream = yield* Pg.stream()
 *   const client = new pg.Client({ host: "127.0.0.1", port: 5432, user: "app", database: "app", stream })
 *   yield* Effect.acquireRelease(Effect.tryPromise(() => client.connect()), () => Effect.promise(() => client.end()))
 *   const result = yield* Effect.tryPromise(() => client.query("SELECT 1 AS one"))
 *   return result.rows
 * }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<() => Duplex, never, Requires<R>> =>
  opener(dial, (open) => () => new DialSocket(open, { host: "localhost", port: 5432 }))
