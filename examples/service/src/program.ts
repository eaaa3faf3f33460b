/**
 * The run of the `Visits` service behind `service` (src/main.ts), given the environment.
 *
 * @since 0.1.0
 */
import { NativeConnector } from "@effect-connect/native"
import { ConfigProvider, Console, Effect, Layer, Option } from "effect"
import { embeddedPostgres, embeddedUpstream } from "./embedded.js"
import * as Service from "./service.js"

/**
 * The whole run, given the environment.
 *
 * @since 0.1.0
 */
export const main = (env: Readonly<Record<string, string | undefined>>) =>
  Effect.gen(function*() {
    const given = (name: string) => Option.fromNullishOr(env[name]).pipe(Option.filter((v) => v !== ""))
    const database = yield* Option.match(given("DATABASE_URL"), {
      onSome: (url) => Effect.succeed(url),
      onNone: () => Effect.tap(embeddedPostgres("1 second"), () => Console.log("embedded PostgreSQL (PGlite) created; it listens in 1 s"))
    })
    const upstream = yield* Option.match(given("UPSTREAM_URL"), {
      onSome: (url) => Effect.succeed({ url, stop: Effect.void }),
      onNone: () => embeddedUpstream
    })
    const config = ConfigProvider.fromUnknown({
      DATABASE_URL: database,
      UPSTREAM_URL: upstream.url,
      ...Option.match(given("DATABASE_RETRY_FOR"), { onNone: () => ({}), onSome: (d) => ({ DATABASE_RETRY_FOR: d }) })
    })
    const run = <A, E>(effect: Effect.Effect<A, E, Service.Visits>) =>
      Effect.provide(effect, Service.layer.pipe(Layer.provide(ConfigProvider.layer(config))))
    yield* run(Effect.gen(function*() {
      const visits = yield* Service.Visits
      for (const name of ["ada", "grace", "ada"]) {
        const v = yield* visits.visit(name)
        yield* Console.log(`${v.greeting} (visit ${v.visits} of ${v.name})`)
      }
      yield* upstream.stop
      yield* Console.log("upstream stopped:")
      const down = yield* Effect.flip(visits.visit("ada"))
      yield* Console.log(`${down._tag}: ${down.reason}`)
    }))
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      DatabaseUnavailable: (e) => Console.error(`DatabaseUnavailable: ${e.reason}`),
      UpstreamUnavailable: (e) => Console.error(`UpstreamUnavailable: ${e.reason}`)
    }),
    Effect.provide(NativeConnector.layer)
  )
