/**
 * Whether the native addon loads in this process, and why not. It is loaded on first use, never
 * at import: `build/Release` when it was built from source, else the prebuild the package ships
 * for this platform (`prebuilds/<platform>-<arch>/`). Once loaded it stays; a load that failed
 * is tried again at the next use, as `require` does. Where it cannot be loaded (no prebuild for
 * the platform and no compiler at install, install scripts skipped, `EFFECT_CONNECT_NATIVE=0`),
 * `NativeConnector.layer` falls back to `NodeConnector`, and `Raw` and `Datagram` fail with
 * `Unsupported` saying why.
 *
 * @since 0.2.0
 */
import type { ConnectError } from "@effect-connect/core"
import { Effect } from "effect"
import { unsupported, withAddon } from "./internal/addon.js"
import { disableVariable, load } from "./internal/binding.js"

/**
 * Why the addon cannot be loaded here, as `Unsupported` (its `reason` holds the loader's error);
 * undefined when it is loaded. Loads it if it is not yet.
 *
 * @since 0.2.0
 * @category loading
 */
export const loadError = (): ConnectError.Unsupported | undefined => {
  const addon = load()
  return typeof addon === "string" ? unsupported("the addon", addon) : undefined
}

/**
 * Succeeds when the addon is loaded (loading it if it is not yet); fails with `Unsupported`
 * saying why it cannot be. Run it early to load the addon before the process's descriptors run
 * out, or to fail at start-up rather than fall back.
 *
 * @since 0.2.0
 * @category loading
 */
export const check: Effect.Effect<void, ConnectError.Unsupported> = withAddon("the addon", () => Effect.void)

/**
 * The environment variable that, set to `0`, keeps the addon from loading: the process then
 * behaves as one without it (`NativeConnector.layer` is `NodeConnector`'s). Read on first use.
 *
 * @since 0.2.0
 * @category loading
 */
export const disabledBy: string = disableVariable
