/**
 * A `Connector` that answers each address with a scripted sequence of outcomes (errnos, successes,
 * delays, hangs) and records what happened when, for deterministic policy tests under `TestClock`.
 * It goes through `Connector.make`, so timeouts, resolution and racing are the real ones.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Ref } from "effect"
import * as Address from "./Address.js"
import { chosenLocal, fromErrno, InvalidAddress } from "./ConnectError.js"
import type { Connection } from "./Connection.js"
import * as Connector from "./Connector.js"
import * as Errno from "./Errno.js"
import { argument, duration, shown } from "./internal/options.js"
import * as Resolver from "./Resolver.js"

/**
 * One scripted outcome.
 *
 * @since 0.1.0
 * @category models
 */
export type Step =
  | { readonly _tag: "Fail"; readonly errno: Errno.Name; readonly after: Duration.Duration }
  | { readonly _tag: "Succeed"; readonly after: Duration.Duration }
  | { readonly _tag: "Hang" }

// A script is a test's own code, written next to the test: a mistake in it is reported where it
// was made, as an Error that names the argument, when the step or layer is built (these are plain
// functions), rather than as a typed failure the policy under test would then handle as if the
// network had said it.
const delay = (fn: string, after: Duration.Input): Duration.Duration => {
  const decoded = duration(after, true)
  if (typeof decoded === "string") throw new Error(`${fn}: after ${decoded}`)
  return decoded
}

/**
 * Fail with `errno` after `after` (default: at once). Any errno name will do: one the table lacks
 * fails as `UnknownErrno`. Throws an Error naming the argument for an errno that is no string or
 * an `after` that is no duration.
 *
 * @since 0.1.0
 * @category steps
 */
export const fail = (errno: Errno.Name, after: Duration.Input = Duration.zero): Step => {
  if (typeof errno !== "string") throw argument("ScriptedConnector.fail", "errno", "an errno name", errno)
  return { _tag: "Fail", errno, after: delay("ScriptedConnector.fail", after) }
}

/**
 * Connect after `after` (default: at once). Throws an Error naming the argument for an `after`
 * that is no duration.
 *
 * @since 0.1.0
 * @category steps
 */
export const succeed = (after: Duration.Input = Duration.zero): Step => ({
  _tag: "Succeed",
  after: delay("ScriptedConnector.succeed", after)
})

// A step as `fail`, `succeed` or `hang` make it.
const isStep = (u: unknown): u is Step => {
  if (typeof u !== "object" || u === null) return false
  const step = u as { readonly _tag?: unknown; readonly errno?: unknown; readonly after?: unknown }
  return step._tag === "Hang" ||
    ((step._tag === "Succeed" || (step._tag === "Fail" && typeof step.errno === "string")) && Duration.isDuration(step.after))
}

// Why `script` is not one, or undefined.
const scriptProblem = (script: unknown): Error | undefined => {
  const fn = "ScriptedConnector.layer"
  if (typeof script !== "object" || script === null || Array.isArray(script)) {
    return argument(fn, "script", "an object from Address.format strings to arrays of steps", script)
  }
  for (const [key, steps] of Object.entries(script)) {
    if (!Array.isArray(steps) || steps.length === 0) {
      return argument(fn, `script[${JSON.stringify(key)}]`, "a non-empty array of steps", steps)
    }
    const bad = steps.findIndex((step) => !isStep(step))
    if (bad >= 0) {
      return argument(fn, `script[${JSON.stringify(key)}][${bad}]`, "a step (fail, succeed or hang)", steps[bad])
    }
  }
  return undefined
}

/**
 * Never answer, like a SYN dropped on the floor.
 *
 * @since 0.1.0
 * @category steps
 */
export const hang: Step = { _tag: "Hang" }

/**
 * The script: for each address (in `Address.format` form), the outcomes of its 1st, 2nd, ...
 * attempts; the last one repeats.
 *
 * @since 0.1.0
 * @category models
 */
export type Script = Readonly<Record<string, ReadonlyArray<Step>>>

/**
 * What the scripted connector saw, with the clock's time in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface Event {
  readonly _tag: "Attempt" | "Connected" | "Failed" | "Interrupted" | "Released"
  readonly address: string
  readonly at: number
}

/**
 * The recorded events.
 *
 * @since 0.1.0
 * @category services
 */
export class Events extends Context.Service<Events, Ref.Ref<ReadonlyArray<Event>>>()(
  "@effect-connect/core/ScriptedConnector/Events"
) {}

/**
 * The events so far.
 *
 * @since 0.1.0
 * @category accessors
 */
export const events: Effect.Effect<ReadonlyArray<Event>, never, Events> = Effect.flatMap(Events, Ref.get)

const fakeConnection = (address: Connector.Dialable, port: number): Connection => ({
  fd: -1,
  local: address._tag === "Tcp"
    ? Address.tcp(Address.ipVersion(address) === 6 ? "::1" : "127.0.0.1", port)
    : Address.unix(""),
  remote: address,
  toNodeSocket: () => {
    throw new Error("a scripted connection has no file descriptor")
  },
  detach: () => {
    throw new Error("a scripted connection has no file descriptor")
  },
  toSocket: () => Effect.die(new Error("a scripted connection has no file descriptor"))
})

/**
 * A `Connector` following `script`, with a static `Resolver` over `hosts`, and the `Events` it
 * records. A script that is not an object of non-empty arrays of steps throws an Error naming
 * the entry, here, when the layer is built. A connect to an address the script has no entry for
 * fails with `InvalidAddress` (field `host`, `path` or `name`), like any address the connector
 * cannot dial.
 *
 * @example
 * ```ts
 * import { Address, Connector, Policy, ScriptedConnector } from "@effect-connect/core"
 * import { Effect } from "effect"
 *
 * const { fail, succeed } = ScriptedConnector
 *
 * // Two refusals, then a connection: the retry loop's attempts as the connector saw them.
 * const attempts = Effect.gen(function*() {
 *   const connect = Connector.connect(Address.tcp("127.0.0.1", 5432))
 *   yield* Effect.scoped(connect.pipe(Policy.retryTransient(Policy.backoff({ base: "10 millis" }))))
 *   return yield* ScriptedConnector.events
 * }).pipe(
 *   Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [fail("ECONNREFUSED"), fail("ECONNREFUSED"), succeed()] }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  script: Script,
  hosts: Readonly<Record<string, ReadonlyArray<string>>> = {}
): Layer.Layer<Connector.Connector | Events> => {
  const problem = scriptProblem(script)
  if (problem !== undefined) throw problem
  return Layer.effectContext(Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Event>>([])
    const counts = new Map<string, number>()
    const record = (tag: Event["_tag"], address: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => Ref.update(log, (events) => [...events, { _tag: tag, address, at }]))

    const dial: Connector.Dial = (address, options) =>
      Effect.suspend((): ReturnType<Connector.Dial> => {
        const key = Address.format(address)
        // An own entry only: `__proto__` or `toString` is an address with no script, not a step.
        // Typed, since in a race over resolved addresses one unscripted candidate is one failed
        // attempt, not the end of the test.
        const steps = Object.hasOwn(script, key) ? script[key]! : undefined
        if (steps === undefined) {
          return Effect.fail(new InvalidAddress({
            input: key,
            field: address._tag === "Tcp" ? "host" : address._tag === "UnixPath" ? "path" : "name",
            reason: `has no script: ScriptedConnector.layer's script has entries for ${Object.keys(script).map(shown).join(", ") || "no address"}`
          }))
        }
        const n = counts.get(key) ?? 0
        counts.set(key, n + 1)
        const step = steps[Math.min(n, steps.length - 1)]!
        const outcome = step._tag === "Hang"
          ? Effect.never
          : Effect.sleep(step.after).pipe(Effect.andThen(
            step._tag === "Fail"
              ? Effect.andThen(
                record("Failed", key),
                Effect.fail(fromErrno(step.errno, {
                  kind: address._tag === "Tcp" ? "inet" : "unix",
                  syscall: "connect",
                  address: key,
                  platform: Errno.currentPlatform,
                  localChosen: chosenLocal(options.local)
                }))
              )
              : Effect.acquireRelease(
                Effect.as(record("Connected", key), fakeConnection(address, 40000 + n)),
                () => record("Released", key)
              )
          ))
        return Effect.andThen(record("Attempt", key), Effect.onInterrupt(outcome, () => record("Interrupted", key)))
      })

    const connector = yield* Connector.make(dial)
    return Context.make(Connector.Connector, connector).pipe(Context.add(Events, log))
  })).pipe(Layer.provide(Resolver.layerStatic(hosts)))
}
