/**
 * The default `Resolver`: `dns.lookup` with `all: true`, so every address of a name is raced.
 * It goes through getaddrinfo(3) like `net.connect`, so /etc/hosts and nsswitch apply.
 *
 * @since 0.1.0
 */
import { ConnectError, Resolver } from "@effect-connect/core"
import { Array as Arr, Effect, Layer } from "effect"
import { lookup } from "node:dns/promises"

const notFound = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA"])

/**
 * Every address of `host`, from `dns.lookup` with `all: true` in the resolver's order; a name
 * with none is `HostNotFound`, any other lookup failure `ResolveFailed` with its code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (host: string) =>
  Effect.tryPromise({
    try: () => lookup(host, { all: true, verbatim: true }),
    catch: (e) => {
      const code = String((e as { code?: unknown }).code ?? "EUNKNOWN")
      return notFound.has(code) ? new ConnectError.HostNotFound({ host }) : new ConnectError.ResolveFailed({ host, code })
    }
  }).pipe(
    Effect.flatMap((found) => {
      const addresses = found.map((a): Resolver.Resolved => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))
      return Arr.isReadonlyArrayNonEmpty(addresses)
        ? Effect.succeed(addresses)
        : Effect.fail(new ConnectError.HostNotFound({ host }))
    })
  )

/**
 * core's `Resolver` service on `resolve`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Resolver.Resolver> = Layer.succeed(Resolver.Resolver, { resolve })
