// The addon as an effect's dependency: what needs it fails with core's `Unsupported`, naming the
// function and the load error, where the addon cannot be loaded.
import { ConnectError } from "@effect-connect/core"
import { Effect } from "effect"
import { type Binding, load } from "./binding.js"

/** `feature` cannot work here: the addon did not load, and `why`. */
export const unsupported = (feature: string, why: string): ConnectError.Unsupported =>
  new ConnectError.Unsupported({ feature, reason: `the @effect-connect/native addon could not be loaded: ${why}` })

/** `use` of the addon, loaded on first use; `Unsupported` for `feature` when it cannot be. */
export const withAddon = <A, E, R>(
  feature: string,
  use: (addon: Binding) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConnectError.Unsupported, R> =>
  Effect.suspend((): Effect.Effect<A, E | ConnectError.Unsupported, R> => {
    const addon = load()
    return typeof addon === "string" ? Effect.fail(unsupported(feature, addon)) : use(addon)
  })
