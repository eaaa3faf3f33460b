/**
 * @effect/sql-pg's client (`PgClient` and `SqlClient`) over our connect, in one line.
 *
 * @since 0.1.0
 */
import { type Address, ConnectError, Connector, Policy } from "@effect-connect/core"
import type { PgClient, PgPoolConfig } from "@effect/sql-pg/PgClient"
import { type Duration, Effect, Layer, Redacted, Schedule, type Scope } from "effect"
import type { SqlClient } from "effect/sql/SqlClient"
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import { DialSocket } from "./internal/DialSocket.js"
import { objectProblem, opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires, Target } from "./SocketFactory.js"

/**
 * The config of `layer`: @effect/sql-pg's (without `stream`: that is ours), a `dial` and a
 * `retry` schedule.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<E = DefaultError, R = Connector.Connector | Scope.Scope> extends Omit<PgPoolConfig, "stream"> {
  /** One connect (default `Connector.connect`): add a timeout, a deadline, racing options. */
  readonly dial?: Dial<E, R>
  /**
   * Applied to each dial with `Policy.retryTransient` (refused, not found yet, ...), and to the
   * client as a whole while the server answers 57P03, "the database system is starting up".
   * Default: `defaultRetry`.
   */
  readonly retry?: Schedule.Schedule<unknown, unknown>
}

/**
 * The default `retry`: 50 ms doubling to 1 s, for at most 10 s.
 *
 * @since 0.1.0
 * @category schedules
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Policy.backoff({
  base: "50 millis",
  cap: "1 second",
  maxElapsed: "10 seconds"
})

/**
 * The default `connectTimeout`: longer than `defaultRetry` retries, so that when they are spent
 * the last typed error is what fails the layer.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultConnectTimeout: Duration.Input = "15 seconds"

/**
 * Whether @effect/sql-pg's error is the server's 57P03 ("the database system is starting up").
 *
 * @since 0.1.0
 * @category predicates
 */
export const isStartingUp = (error: SqlError): boolean =>
  (error.reason.cause as { readonly code?: unknown } | undefined)?.code === "57P03"

/**
 * `PgClient` and `SqlClient` with every connection of the pool dialed through `dial`, retried
 * with `retry`, to the config's `path`, or its `host` and `port` (a `host` starting with `/` is a
 * socket directory: `<host>/.s.PGSQL.<port>`), else the `url`'s. A failed dial is the cause of the
 * `SqlError`'s reason (a `ConnectionError`): our tagged error itself. The layer opens one
 * connection before it is built, so that a server it cannot reach fails the layer, not the first
 * query. @effect/sql-pg bounds each connect by `connectTimeout`, retries included (here 15 s
 * unless given): keep `retry` shorter, or the layer fails with "Connection timed out" instead.
 *
 * @example
 * ```ts
 * import * as SqlPg from "@effect-connect/clients/SqlPg"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect, Layer } from "effect"
 * import { SqlClient } from "effect/sql/SqlClient"
 *
 * // A server that refuses past `defaultRetry` fails the layer: a SqlError whose reason's cause is
 * // `ConnectionRefused` itself.
 * const Database = SqlPg.layer({ host: "127.0.0.1", port: 5432, database: "app", username: "app" }).pipe(
 *   Layer.provide(NativeConnector.layer)
 * )
 *
 * const rows = Effect.gen(function*() {
 *   const sql = yield* SqlClient
 *   return yield* sql`SELECT 1 AS one`
 * }).pipe(Effect.provide(Database))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  config: Config<E, R>
): Layer.Layer<PgClient | SqlClient, SqlError, Requires<R>> =>
  Layer.unwrap(Effect.gen(function*() {
    // Loaded here, not at the top: @effect/sql-pg is an optional peer.
    const PgModule = yield* Effect.promise(() => import("@effect/sql-pg/PgClient"))
    const invalid = configProblem(config)
    if (invalid !== undefined) {
      return yield* Effect.fail(new SqlError({ reason: new ConnectionError({ cause: invalid, message: invalid.message, operation: "connect" }) }))
    }
    const { dial, retry = defaultRetry, ...pg } = config
    const once: Dial<E, R> = dial ?? ((address) => Connector.connect(address) as ReturnType<Dial<E, R>>)
    const target = targetOf(config)
    // @effect/sql-pg writes to a stream as soon as it has it, and never calls its `connect`: each
    // one dials at once.
    const stream = yield* opener(
      (address: Address.Tcp | Address.Unix) => Policy.retryTransient(retry)(once(address)),
      (open) => () => new DialSocket(open, target).start()
    )
    // @effect/sql-pg's own default (5 s) would cut `defaultRetry` short and hide the last typed
    // error behind "Connection timed out".
    const connectTimeout = pg.connectTimeout ?? defaultConnectTimeout
    // The pool connects when a query first needs it: one connection is taken here (and given back
    // for the queries to use), retried while the server answers 57P03.
    return PgModule.layerFrom(Effect.tap(
      PgModule.make({ ...pg, connectTimeout, stream }),
      (client) => Effect.retry(Effect.scoped(client.reserve), { schedule: retry, while: isStartingUp })
    ))
  }))

// Where @effect/sql-pg connects when it has no stream: the explicit fields win over the url's.
const targetOf = (config: Config<unknown, unknown>): Target => {
  const url = urlTarget(config.url)
  const host = config.host ?? url.host ?? "localhost"
  const port = config.port ?? url.port ?? 5432
  const path = config.path ?? (typeof host === "string" && host.startsWith("/") ? `${host}/.s.PGSQL.${port}` : undefined)
  return path === undefined ? { host, port } : { path }
}

// The host and port a libpq URL names, its `host` and `port` parameters over its authority. A url
// @effect/sql-pg cannot read fails each connect before a stream is asked for: nothing to say here.
const urlTarget = (url: unknown): { readonly host?: string | undefined; readonly port?: number | undefined } => {
  try {
    const parsed = new URL(String(Redacted.value(url as Redacted.Redacted)))
    const authority = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : decodeURIComponent(parsed.hostname)
    const host = parsed.searchParams.getAll("host").at(-1) ?? (authority === "" ? undefined : authority)
    const port = parsed.searchParams.getAll("port").at(-1) ?? (parsed.port === "" ? undefined : parsed.port)
    return { host, port: port === undefined ? undefined : Number(port) }
  } catch {
    return {}
  }
}

// Our part of the config, from an untyped caller: what is wrong fails the layer as a SqlError whose
// reason (a ConnectionError, as @effect/sql-pg's own config problems are) has the InvalidOption
// naming the option as its cause. Effect would die on a `retry` that is no schedule or a
// `connectTimeout` of "soon", and the dial would throw a TypeError per connection.
const configProblem = (config: unknown): ConnectError.InvalidOption | undefined => {
  const invalid = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `SqlPg.${option}`, reason })
  const none = objectProblem("SqlPg.config", config)
  if (none !== undefined) return none
  const { dial, retry, connectTimeout } = config as { readonly dial?: unknown; readonly retry?: unknown; readonly connectTimeout?: unknown }
  if (dial !== undefined && typeof dial !== "function") return invalid("dial", `must be a function, got ${ConnectError.shown(dial)}`)
  if (retry !== undefined && !Schedule.isSchedule(retry)) return invalid("retry", `must be a Schedule, got ${ConnectError.shown(retry)}`)
  const timeout = connectTimeout === undefined ? undefined : ConnectError.durationProblem(connectTimeout, true)
  return timeout === undefined ? undefined : invalid("connectTimeout", timeout)
}
