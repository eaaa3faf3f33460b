/**
 * A `Connector` that answers each address with a scripted sequence of outcomes (errnos, successes,
 * delays, hangs) and records what happened when, for deterministic policy tests under `TestClock`.
 * It goes through `Connector.make`, so timeouts, resolution and racing are the real ones.
 *
 * @since 0.1.0
 */
import { Clock, Context, Duration, Effect, Layer, Ref } from "effect"
import * as Address from "./Address.js"
import { chosenLocal, fromErrno } from "./ConnectError.js"
import type { Connection } from "./Connection.js"
import * as Connector from "./Connector.js"
import * as Errno from "./Errno.js"
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

/**
 * Fail with `errno` after `after` (default: at once).
 *
 * @since 0.1.0
 * @category steps
 */
export const fail = (errno: Errno.Name, after: Duration.DurationInput = Duration.zero): Step => ({
  _tag: "Fail",
  errno,
  after: Duration.decode(after)
})

/**
 * Connect after `after` (default: at once).
 *
 * @since 0.1.0
 * @category steps
 */
export const succeed = (after: Duration.DurationInput = Duration.zero): Step => ({
  _tag: "Succeed",
  after: Duration.decode(after)
})

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
 * @category tags
 */
export class Events extends Context.Tag("@effect-connect/core/ScriptedConnector/Events")<
  Events,
  Ref.Ref<ReadonlyArray<Event>>
>() {}

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
  toSocket: () => Effect.dieMessage("a scripted connection has no file descriptor")
})

/**
 * A `Connector` following `script`, with a static `Resolver` over `hosts`, and the `Events` it
 * records.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  script: Script,
  hosts: Readonly<Record<string, ReadonlyArray<string>>> = {}
): Layer.Layer<Connector.Connector | Events> =>
  Layer.effectContext(Effect.gen(function*() {
    const log = yield* Ref.make<ReadonlyArray<Event>>([])
    const counts = new Map<string, number>()
    const record = (tag: Event["_tag"], address: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => Ref.update(log, (events) => [...events, { _tag: tag, address, at }]))

    const dial: Connector.Dial = (address, options) =>
      Effect.suspend(() => {
        const key = Address.format(address)
        const steps = script[key]
        if (steps === undefined || steps.length === 0) return Effect.dieMessage(`no script for ${key}`)
        const n = counts.get(key) ?? 0
        counts.set(key, n + 1)
        const step = steps[Math.min(n, steps.length - 1)]!
        const outcome = step._tag === "Hang"
          ? Effect.never
          : Effect.sleep(step.after).pipe(Effect.zipRight(
            step._tag === "Fail"
              ? Effect.zipRight(
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
        return Effect.zipRight(record("Attempt", key), Effect.onInterrupt(outcome, () => record("Interrupted", key)))
      })

    const connector = yield* Connector.make(dial)
    return Context.make(Connector.Connector, connector).pipe(Context.add(Events, log))
  })).pipe(Layer.provide(Resolver.layerStatic(hosts)))
