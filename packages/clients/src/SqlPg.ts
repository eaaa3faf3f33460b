/**
 * @effect/sql-pg's client (`PgClient` and `SqlClient`) over our connect, in one line.
 *
 * @since 0.1.0
 */
import { ConnectError, Connector, Policy } from "@effect-connect/core"
import type { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { PgClient, PgClientConfig } from "@effect/sql-pg/PgClient"
import { type Duration, Effect, Layer, Schedule, type Scope } from "effect"
import { objectProblem } from "./internal/open.js"
import * as Pg from "./Pg.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * @effect/sql-pg's config (without `stream`: that is ours), a `dial` and a `retry` schedule.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<E = DefaultError, R = Connector.Connector | Scope.Scope> extends Omit<PgClientConfig, "stream"> {
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
export const defaultConnectTimeout: Duration.DurationInput = "15 seconds"

/**
 * Whether @effect/sql-pg's error is the server's 57P03 ("the database system is starting up").
 *
 * @since 0.1.0
 * @category predicates
 */
export const isStartingUp = (error: SqlError): boolean =>
  (error.cause as { readonly code?: unknown } | undefined)?.code === "57P03"

/**
 * `PgClient` and `SqlClient` with every connection of the pool dialed through `dial`, retried
 * with `retry`. A failed dial is the `SqlError`'s `cause`, our tagged error itself.
 * @effect/sql-pg bounds its first query by `connectTimeout`, retries included (here 15 s unless
 * given): keep `retry` shorter, or the layer fails with "Connection timed out" instead.
 *
 * @example
 * const Database = SqlPg.layer({ host: "127.0.0.1", port: 5432, database: "app", username: "app" })
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  config: Config<E, R>
): Layer.Layer<PgClient | SqlClient, SqlError, Requires<R>> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    // Loaded here, not at the top: @effect/sql-pg is an optional peer.
    const [{ PgClient }, { SqlError }] = yield* Effect.promise(() => Promise.all([import("@effect/sql-pg"), import("@effect/sql/SqlError")]))
    const invalid = configProblem(config)
    if (invalid !== undefined) return Layer.fail(new SqlError({ cause: invalid, message: invalid.message }))
    const { dial, retry = defaultRetry, ...pg } = config
    const once: Dial<E, R> = dial ?? ((address) => Connector.connect(address) as ReturnType<Dial<E, R>>)
    const stream = yield* Pg.stream((address) => Policy.retryTransient(retry)(once(address)))
    // @effect/sql-pg's own default (5 s) would cut `defaultRetry` short and hide the last typed
    // error behind "Connection timed out".
    const connectTimeout = pg.connectTimeout ?? defaultConnectTimeout
    return Layer.retry(PgClient.layer({ ...pg, connectTimeout, stream }), Schedule.whileInput(retry, isStartingUp))
  }))

// Our part of the config, from an untyped caller: what is wrong fails the layer as a SqlError
// whose cause names the option (Effect would die on a `retry` that is no schedule or a
// `connectTimeout` of "soon", and the dial would throw a TypeError per connection).
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
