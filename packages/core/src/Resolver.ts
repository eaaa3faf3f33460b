/**
 * Host name to addresses. The default layer on `node:dns` lives in the native package (core has
 * no runtime Node imports); here are the service, a way to make one and a static layer for tests.
 *
 * @since 0.1.0
 */
import { Array as Arr, Context, Effect, Layer } from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import { HostNotFound, type ResolveFailed } from "./ConnectError.js"
import { argument } from "./internal/options.js"

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
 * The service that turns a host name into IP literals, for a connect to a name.
 *
 * @since 0.1.0
 * @category services
 */
export class Resolver extends Context.Service<Resolver, {
  /** Every address of the name, in the resolver's order. */
  readonly resolve: (host: string) => Effect.Effect<NonEmptyReadonlyArray<Resolved>, HostNotFound | ResolveFailed>
}>()("@effect-connect/core/Resolver") {}

/**
 * A resolver that answers from a fixed table; any other name is `HostNotFound`. A table that is
 * not an object of arrays of strings throws an Error naming the entry, here, rather than a
 * defect at the first lookup.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStatic = (hosts: Readonly<Record<string, ReadonlyArray<string>>>): Layer.Layer<Resolver> => {
  if (typeof hosts !== "object" || hosts === null || Array.isArray(hosts)) {
    throw argument("Resolver.layerStatic", "hosts", "an object from host names to arrays of IP literals", hosts)
  }
  for (const [host, addresses] of Object.entries(hosts)) {
    if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === "string")) {
      throw argument("Resolver.layerStatic", `hosts[${JSON.stringify(host)}]`, "an array of IP literals", addresses)
    }
  }
  return Layer.succeed(Resolver, {
    resolve: (host) => {
      // An own property only: `__proto__` and `constructor` are valid host names, not table rows.
      const found = (Object.hasOwn(hosts, host) ? hosts[host]! : []).map((address): Resolved => ({ address, family: address.includes(":") ? 6 : 4 }))
      return Arr.isReadonlyArrayNonEmpty(found) ? Effect.succeed(found) : Effect.fail(new HostNotFound({ host }))
    }
  })
}

/**
 * RFC 8305 section 4: alternate the families, starting with the first one the resolver gave, so
 * that one broken family cannot delay the other by more than one attempt. Throws an Error naming
 * the argument when `addresses` is not a non-empty array; entries are only grouped by their
 * `family`, never checked.
 *
 * @since 0.1.0
 * @category utils
 */
export const interleave = (addresses: NonEmptyReadonlyArray<Resolved>): NonEmptyReadonlyArray<Resolved> => {
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw argument("Resolver.interleave", "addresses", "a non-empty array of { address, family }", addresses)
  }
  // `?.`: an entry that is no object (from an untyped resolver) is kept in its place, not read.
  const first = (addresses[0] as Resolved | null | undefined)?.family
  const preferred = addresses.filter((a: Resolved | null | undefined) => a?.family === first)
  const other = addresses.filter((a: Resolved | null | undefined) => a?.family !== first)
  const out: Array<Resolved> = []
  for (let i = 0; i < Math.max(preferred.length, other.length); i++) {
    if (i < preferred.length) out.push(preferred[i]!)
    if (i < other.length) out.push(other[i]!)
  }
  return out as unknown as NonEmptyReadonlyArray<Resolved>
}
