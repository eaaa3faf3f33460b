/**
 * The `Connector` service: `connect(address, options)` to a scoped `Connection`, failing with
 * exactly the errors the address's family can produce. `make` builds one from a platform's `Dial`
 * (one connect to one IP literal or unix address) and adds what every platform shares: input
 * checks, name resolution, RFC 8305 racing, the per-attempt timeout, a span, log annotations and
 * a metric per attempt.
 *
 * @since 0.1.0
 */
import { Array as Arr, Context, type Duration, Effect, FiberRef, Metric, type Scope } from "effect"
import * as Address from "./Address.js"
import {
  type InetError,
  InvalidAddress,
  type HostNotFound,
  type ResolveFailed,
  type UnixError,
  deadline
} from "./ConnectError.js"
import type { Connection } from "./Connection.js"
import * as Errno from "./Errno.js"
import * as Policy from "./Policy.js"
import { interleave, Resolver } from "./Resolver.js"

/**
 * Options of one connect.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Per attempt (per address, for a name): `TimedOut { source: "deadline" }` when it passes. */
  readonly timeout?: Duration.DurationInput
  /** Bind to this local address and/or port before connecting (inet only). */
  readonly local?: { readonly host?: string; readonly port?: number }
  /** TCP_NODELAY. */
  readonly noDelay?: boolean
  /** SO_KEEPALIVE. */
  readonly keepAlive?: boolean
  /** SO_REUSEADDR, before the bind. */
  readonly reuseAddress?: boolean
  /** RFC 8305 Connection Attempt Delay when a name has several addresses. Default 250 ms. */
  readonly attemptDelay?: Duration.DurationInput
  /** Linux only: TCP_SYNCNT (SYN retransmits before ETIMEDOUT) and TCP_USER_TIMEOUT. */
  readonly linux?: { readonly synRetries?: number; readonly userTimeout?: Duration.DurationInput }
}

/**
 * The addresses a `Dial` is given: an IP literal, or a unix address.
 *
 * @since 0.1.0
 * @category models
 */
export type Dialable = Address.Tcp | Address.Unix

/**
 * What a `Connector` can fail with for an address of type `A`.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorFor<A extends Address.Address> = A extends Address.Tcp
  ? InetError | InvalidAddress | HostNotFound | ResolveFailed | Policy.AllAttemptsFailed<InetError>
  : A extends Address.Unix ? UnixError | InvalidAddress
  : InvalidAddress

/**
 * One connect to one dialable address, by a platform. A `Dial` releases what it acquired as soon
 * as it fails or is interrupted, and adds the release of a connection it returns to the scope:
 * a failed attempt never holds its fd until the end of a long retry loop.
 *
 * @since 0.1.0
 * @category models
 */
export type Dial = (
  address: Dialable,
  options: ConnectOptions
) => Effect.Effect<Connection, InetError | UnixError | InvalidAddress, Scope.Scope>

/**
 * @since 0.1.0
 * @category tags
 */
export class Connector extends Context.Tag("@effect-connect/core/Connector")<Connector, {
  readonly connect: <A extends Address.Address>(
    address: A,
    options?: ConnectOptions
  ) => Effect.Effect<Connection, ErrorFor<A>, Scope.Scope>
}>() {}

/**
 * Connects through the `Connector` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const connect = <A extends Address.Address>(
  address: A,
  options?: ConnectOptions
): Effect.Effect<Connection, ErrorFor<A>, Connector | Scope.Scope> =>
  Effect.flatMap(Connector, (connector) => connector.connect(address, options))

/**
 * Attempts by outcome (`ok` or the error's tag). Not tagged by address: addresses are unbounded,
 * and the span and log annotations carry them.
 *
 * @since 0.1.0
 * @category metrics
 */
export const attempts = Metric.counter("effect_connect_attempts_total", {
  description: "connect attempts, tagged by outcome: ok or the error's tag"
})

// One tagged counter per outcome, made once: tagging on every attempt hashes a new metric key.
const counters = new Map<string, Metric.Metric.Counter<number>>()
const countOutcome = (outcome: string) => {
  let counter = counters.get(outcome)
  if (counter === undefined) {
    counter = Metric.tagged(attempts, "outcome", outcome)
    counters.set(outcome, counter)
  }
  return Metric.increment(counter)
}

// The tracer every runtime has unless one is provided: its spans reach no one.
const nativeTracer = Effect.runSync(Effect.tracer)

const observed = (address: Dialable, effect: Effect.Effect<Connection, InetError | UnixError | InvalidAddress, Scope.Scope>) =>
  Effect.flatMap(FiberRef.get(Policy.currentAttempt), (attempt) => {
    const counted = Effect.tapBoth(effect, {
      onFailure: (e) =>
        Effect.zipRight(
          countOutcome(e._tag),
          Effect.annotateLogs(Effect.logDebug(`connect failed: ${e.message}`), { address: Address.format(address), attempt })
        ),
      onSuccess: () => countOutcome("ok")
    })
    // A span costs a third of a loopback connect: made only when a tracer will receive it.
    return Effect.tracerWith((tracer) =>
      tracer === nativeTracer ? counted : Effect.tapBoth(counted, {
        onFailure: (e) => Effect.annotateCurrentSpan({ "connect.outcome": e._tag, "connect.errno": "errno" in e ? e.errno : "" }),
        onSuccess: (c) => Effect.annotateCurrentSpan({ "connect.outcome": "ok", "connect.local": Address.format(c.local) })
      }).pipe(Effect.withSpan("effect-connect.connect", {
        attributes: { "connect.address": Address.format(address), "connect.attempt": attempt },
        captureStackTrace: false
      }))
    )
  })

const checkOptions = (address: Address.Address, options: ConnectOptions): Effect.Effect<void, InvalidAddress> => {
  const input = Address.format(address)
  const local = options.local
  if (local === undefined) return Effect.void
  if (address._tag !== "Tcp") {
    return Effect.fail(new InvalidAddress({ input, field: "option", reason: "local: binding is for tcp addresses only" }))
  }
  return Effect.all([
    local.host === undefined ? Effect.void : Address.validateHost(input, local.host),
    local.port === undefined ? Effect.void : Address.validatePort(input, local.port, "local")
  ], { discard: true })
}

/**
 * Builds a `Connector` from a platform's `Dial`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (dial: Dial): Effect.Effect<Connector["Type"], never, Resolver> =>
  Effect.map(Resolver, (resolver) => {
    const attempt = (address: Dialable, options: ConnectOptions) => {
      const once = observed(address, dial(address, options))
      return options.timeout === undefined ? once : Effect.timeoutFail(once, {
        duration: options.timeout,
        onTimeout: () => deadline(Address.format(address), Errno.currentPlatform)
      })
    }
    const connect = (address: Address.Address, options: ConnectOptions = {}) =>
      Effect.gen(function*() {
        yield* Address.validate(address)
        yield* checkOptions(address, options)
        switch (address._tag) {
          case "Unspecified":
            return yield* new InvalidAddress({
              input: Address.format(address),
              field: "family",
              reason: "unspecified: is for dissolving a datagram association, a stream cannot connect to it"
            })
          case "UnixPath":
          case "Abstract":
            return yield* attempt(address, options)
          case "Tcp": {
            if (Address.ipVersion(address) !== undefined) return yield* attempt(address, options)
            const resolved = interleave(yield* resolver.resolve(address.host))
            const candidates = Arr.map(resolved, (r) => Address.tcp(r.address, address.port))
            if (candidates.length === 1) return yield* attempt(candidates[0], options)
            return yield* Policy.race(candidates, (c) => attempt(c, options), {
              describe: Address.format,
              ...(options.attemptDelay === undefined ? {} : { delay: options.attemptDelay })
            })
          }
        }
      })
    return { connect } as Connector["Type"]
  })
