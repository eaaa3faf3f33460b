/**
 * Host name to addresses. The default layer on `node:dns` lives in the native package (core has
 * no runtime Node imports); here are the service, a way to make one and a static layer for tests.
 *
 * @since 0.1.0
 */
import { Array as Arr, Context, Effect, Layer } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HostNotFound, type ResolveFailed } from "./ConnectError.js"

/**
 * One resolved address: an IP literal and its version.
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly address: string
  readonly family: 4 | 6
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Resolver extends Context.Tag("@effect-connect/core/Resolver")<Resolver, {
  /** Every address of the name, in the resolver's order. */
  readonly resolve: (host: string) => Effect.Effect<NonEmptyReadonlyArray<Resolved>, HostNotFound | ResolveFailed>
}>() {}

/**
 * A resolver that answers from a fixed table; any other name is `HostNotFound`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (hosts: Readonly<Record<string, ReadonlyArray<string>>>): Layer.Layer<Resolver> =>
  Layer.succeed(Resolver, {
    resolve: (host) => {
      // An own property only: `__proto__` and `constructor` are valid host names, not table rows.
      const found = (Object.hasOwn(hosts, host) ? hosts[host]! : []).map((address): Resolved => ({ address, family: address.includes(":") ? 6 : 4 }))
      return Arr.isNonEmptyReadonlyArray(found) ? Effect.succeed(found) : Effect.fail(new HostNotFound({ host }))
    }
  })

/**
 * RFC 8305 section 4: alternate the families, starting with the first one the resolver gave, so
 * that one broken family cannot delay the other by more than one attempt.
 *
 * @since 0.1.0
 * @category utils
 */
export const interleave = (addresses: NonEmptyReadonlyArray<Resolved>): NonEmptyReadonlyArray<Resolved> => {
  const first = addresses[0].family
  const preferred = addresses.filter((a) => a.family === first)
  const other = addresses.filter((a) => a.family !== first)
  const out: Array<Resolved> = []
  for (let i = 0; i < Math.max(preferred.length, other.length); i++) {
    if (i < preferred.length) out.push(preferred[i]!)
    if (i < other.length) out.push(other[i]!)
  }
  return out as unknown as NonEmptyReadonlyArray<Resolved>
}
