/**
 * The service: records a visit in PostgreSQL and asks an upstream HTTP service for a greeting.
 * Written the way users write one: a service with its own errors, Layers built from Config, the
 * database through `SqlPg.layer` and the upstream through `Undici.layer`, both over our connect;
 * a connect failure, wherever a client put it, mapped by its tag into the service's errors.
 *
 * @since 0.1.0
 */
import { type SocketFactory, SqlPg, Undici } from "@effect-connect/clients"
import { Address, ConnectError, Connector, Policy } from "@effect-connect/core"
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { Config, Console, Duration, Effect, Layer, Schema } from "effect"

/**
 * The database could not be reached; `reason` says why, from our typed connect error.
 *
 * @since 0.1.0
 * @category errors
 */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("DatabaseUnavailable", {
  reason: Schema.String
}) {}

/**
 * The upstream could not be reached, or answered badly.
 *
 * @since 0.1.0
 * @category errors
 */
export class UpstreamUnavailable extends Schema.TaggedError<UpstreamUnavailable>()("UpstreamUnavailable", {
  reason: Schema.String
}) {}

// Our connect errors, matched by tag, in the service's words. Anything else is no connect failure.
const connectFailure = (cause: unknown): string | undefined => {
  if (cause instanceof Policy.AllAttemptsFailed) {
    return cause.attempts.map((a) => connectFailure(a.error) ?? String(a.error)).join("; ")
  }
  if (!ConnectError.isConnectError(cause)) return undefined
  switch (cause._tag) {
    case "ConnectionRefused":
      return `nothing listens at ${cause.address} (ConnectionRefused)`
    case "NotFound":
      return `no socket at ${cause.address} (NotFound)`
    case "TimedOut":
      return `no answer from ${cause.address} in time (TimedOut, ${cause.source})`
    case "HostNotFound":
      return `${cause.message} (HostNotFound)`
    default:
      return `${cause.message} (${cause._tag})`
  }
}

/**
 * One connect as this service wants it: 1 s per attempt, each failure logged.
 *
 * @since 0.1.0
 * @category dial
 */
export const dial: SocketFactory.Dial = (address: Address.Tcp | Address.Unix) =>
  Connector.connect(address, { timeout: "1 second" }).pipe(
    Effect.tapError((e) => Console.log(`  connect ${Address.format(address)}: ${e._tag}`))
  )

/**
 * PostgreSQL from `DATABASE_URL`, retried while it refuses, is missing or is starting up, for
 * `DATABASE_RETRY_FOR` (default 20 s).
 *
 * @since 0.1.0
 * @category layers
 */
export const Database = Layer.unwrapEffect(
  Effect.map(
    Config.all([Config.redacted("DATABASE_URL"), Config.withDefault(Config.duration("DATABASE_RETRY_FOR"), Duration.seconds(20))]),
    ([url, retryFor]) =>
      SqlPg.layer({
        url,
        dial,
        retry: Policy.backoff({ base: "100 millis", cap: "1 second", maxElapsed: retryFor }),
        connectTimeout: Duration.sum(retryFor, Duration.seconds(10))
      })
  )
).pipe(Layer.catchAll((e) =>
  Layer.fail(e._tag === "SqlError" ? new DatabaseUnavailable({ reason: connectFailure(e.cause) ?? e.message }) : e)
))

/**
 * An `HttpClient` whose connections are ours, each retried briefly.
 *
 * @since 0.1.0
 * @category layers
 */
export const Http = Undici.layer((address) =>
  dial(address).pipe(Policy.retryTransient(Policy.backoff({ base: "50 millis", maxAttempts: 3 })))
)

/**
 * @since 0.1.0
 * @category models
 */
export interface Visit {
  readonly name: string
  readonly visits: number
  readonly greeting: string
}

/**
 * @since 0.1.0
 * @category services
 */
export class Visits extends Effect.Service<Visits>()("Visits", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const http = yield* HttpClient.HttpClient
    const upstream = yield* Config.string("UPSTREAM_URL")
    yield* sql`CREATE TABLE IF NOT EXISTS visits (name text NOT NULL, at timestamptz NOT NULL DEFAULT now())`.pipe(
      Effect.mapError((e) => new DatabaseUnavailable({ reason: connectFailure(e.cause) ?? e.message }))
    )
    const greeting = (name: string) =>
      http.get(`${upstream}/greeting?name=${encodeURIComponent(name)}`).pipe(
        Effect.flatMap(HttpClientResponse.filterStatusOk),
        Effect.flatMap((response) => response.text),
        Effect.scoped,
        Effect.mapError((e) => new UpstreamUnavailable({ reason: connectFailure(e.cause) ?? e.message }))
      )
    const visit = (name: string) =>
      Effect.gen(function*() {
        yield* sql`INSERT INTO visits (name) VALUES (${name})`
        const [row] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM visits WHERE name = ${name}`
        return { name, visits: row.n, greeting: yield* greeting(name) } satisfies Visit
      }).pipe(Effect.catchTag("SqlError", (e) => new DatabaseUnavailable({ reason: connectFailure(e.cause) ?? e.message })))
    return { visit } as const
  })
}) {}

/**
 * The service over the real layers: PostgreSQL and the upstream from Config.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Visits.Default.pipe(Layer.provide(Layer.mergeAll(Database, Http)))
