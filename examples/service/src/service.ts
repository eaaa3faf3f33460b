/**
 * The service: records a visit in PostgreSQL and asks an upstream HTTP service for a greeting.
 * Written the way users write one: a service with its own errors, Layers built from Config, the
 * database through `SqlPg.layer` and the upstream through `Undici.layer`, both over our connect;
 * a connect failure, wherever a client put it, mapped by its tag into the service's errors.
 *
 * @since 0.1.0
 */
import type { SocketFactory } from "@effect-connect/clients"
import * as SqlPg from "@effect-connect/clients/SqlPg"
import * as Undici from "@effect-connect/clients/Undici"
import { Address, ConnectError, Connector, Policy } from "@effect-connect/core"
import { Config, Console, Context, Duration, Effect, Layer, Predicate, Schema } from "effect"
import { HttpClient, HttpClientResponse } from "effect/http"
import { SqlClient } from "effect/sql"

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

// Our connect errors, matched by tag, in the service's words. A client wraps ours in its own error
// (a SqlError's reason, an HttpClientError's reason), so the chain of causes is followed. Anything
// else is no connect failure.
const connectFailure = (cause: unknown): string | undefined => {
  if (cause instanceof Policy.AllAttemptsFailed) {
    return cause.attempts.map((a) => connectFailure(a.error) ?? String(a.error)).join("; ")
  }
  if (!ConnectError.isConnectError(cause)) {
    return Predicate.hasProperty(cause, "cause") ? connectFailure(cause.cause) : undefined
  }
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
export const Database = Layer.effectContext(
  Effect.gen(function*() {
    const url = yield* Config.Redacted("DATABASE_URL")
    const retryFor = yield* Config.withDefault(Config.Duration("DATABASE_RETRY_FOR"), Duration.seconds(20))
    // Built here, not provided as a layer, so that its SqlError becomes the service's own error.
    return yield* Layer.build(SqlPg.layer({
      url,
      dial,
      retry: Policy.backoff({ base: "100 millis", cap: "1 second", maxElapsed: retryFor }),
      connectTimeout: Duration.sum(retryFor, Duration.seconds(10))
    }))
  }).pipe(
    Effect.catchTag("SqlError", (e) => Effect.fail(new DatabaseUnavailable({ reason: connectFailure(e) ?? e.message })))
  )
)

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
export class Visits extends Context.Service<Visits, {
  readonly visit: (name: string) => Effect.Effect<Visit, DatabaseUnavailable | UpstreamUnavailable>
}>()("Visits") {}

/**
 * The service over a `SqlClient`, an `HttpClient` and `UPSTREAM_URL`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const http = yield* HttpClient.HttpClient
  const upstream = yield* Config.String("UPSTREAM_URL")
  yield* sql`CREATE TABLE IF NOT EXISTS visits (name text NOT NULL, at timestamptz NOT NULL DEFAULT now())`.pipe(
    Effect.mapError((e) => new DatabaseUnavailable({ reason: connectFailure(e) ?? e.message }))
  )
  const greeting = (name: string) =>
    http.get(`${upstream}/greeting?name=${encodeURIComponent(name)}`).pipe(
      Effect.flatMap(HttpClientResponse.filterStatusOk),
      Effect.flatMap((response) => response.text),
      Effect.mapError((e) => new UpstreamUnavailable({ reason: connectFailure(e) ?? e.message }))
    )
  const visit = (name: string) =>
    Effect.gen(function*() {
      yield* sql`INSERT INTO visits (name) VALUES (${name})`
      const [row] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM visits WHERE name = ${name}`
      return { name, visits: row.n, greeting: yield* greeting(name) } satisfies Visit
    }).pipe(
      Effect.catchTag("SqlError", (e) => Effect.fail(new DatabaseUnavailable({ reason: connectFailure(e) ?? e.message })))
    )
  return Visits.of({ visit })
})

/**
 * The service over the real layers: PostgreSQL and the upstream from Config.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = Layer.effect(Visits, make).pipe(Layer.provide(Layer.mergeAll(Database, Http)))
