/**
 * The `Connector` service: `connect(address, options)` to a scoped `Connection`, failing with
 * exactly the errors the address's family can produce. `make` builds one from a platform's `Dial`
 * (one connect to one IP literal or unix address) and adds what every platform shares: input
 * checks, name resolution, RFC 8305 racing, the per-attempt timeout, a span, log annotations and
 * a metric per attempt.
 *
 * @since 0.1.0
 */
import { Array as Arr, Context, Duration, Effect, FiberRef, Metric, Option, type Scope } from "effect"
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
import * as check from "./internal/check.js"
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

// One tagged counter's increment per outcome, made once: tagging on every attempt hashes a new
// metric key.
const increments = new Map<string, Effect.Effect<void>>()
const countOutcome = (outcome: string) => {
  let increment = increments.get(outcome)
  if (increment === undefined) {
    increment = Metric.increment(Metric.tagged(attempts, "outcome", outcome))
    increments.set(outcome, increment)
  }
  return increment
}

// The tracer every runtime has unless one is provided: its spans reach no one.
const nativeTracer = Effect.runSync(Effect.tracer)

const observed = (address: Dialable, effect: Effect.Effect<Connection, InetError | UnixError | InvalidAddress, Scope.Scope>) => {
  const counted = Effect.tapBoth(effect, {
    onFailure: (e) =>
      Effect.zipRight(
        countOutcome(e._tag),
        Effect.flatMap(FiberRef.get(Policy.currentAttempt), (attempt) =>
          Effect.annotateLogs(Effect.logDebug(`connect failed: ${e.message}`), { address: Address.format(address), attempt }))
      ),
    onSuccess: () => countOutcome("ok")
  })
  // A span costs a third of a loopback connect: made only when a tracer will receive it.
  return Effect.tracerWith((tracer) =>
    tracer === nativeTracer ? counted : Effect.flatMap(FiberRef.get(Policy.currentAttempt), (attempt) =>
      Effect.tapBoth(counted, {
        onFailure: (e) => Effect.annotateCurrentSpan({ "connect.outcome": e._tag, "connect.errno": "errno" in e ? e.errno : "" }),
        onSuccess: (c) => Effect.annotateCurrentSpan({ "connect.outcome": "ok", "connect.local": Address.format(c.local) })
      }).pipe(Effect.withSpan("effect-connect.connect", {
        attributes: { "connect.address": Address.format(address), "connect.attempt": attempt },
        captureStackTrace: false
      })))
  )
}

// An option's value in an error: never a getter or toString of the caller's object.
const shown = (u: unknown): string =>
  typeof u === "string" ? JSON.stringify(u)
  : typeof u === "number" || typeof u === "bigint" || typeof u === "boolean" || u === undefined || u === null ? String(u)
  : typeof u

// Duration.decode reads NaN and negative inputs as zero; a sign the caller wrote is a mistake to
// report, not a zero to use.
const negative = (u: unknown): boolean =>
  typeof u === "number" ? !(u >= 0)
  : typeof u === "bigint" ? u < 0n
  : typeof u === "string" ? /^\s*-/.test(u)
  : Array.isArray(u) && u.some(negative)

// TCP_USER_TIMEOUT takes an int of milliseconds; the kernel refuses a negative one.
const userTimeoutMillis = (u: unknown): number | undefined => {
  if (negative(u)) return undefined
  const ms = Option.map(Duration.decodeUnknown(u), Duration.toMillis)
  return Option.isSome(ms) && Number.isInteger(ms.value) && ms.value <= 2147483647 ? ms.value : undefined
}

// Every option checked before any syscall: a value the addon cannot take would otherwise throw
// after socket(2), and a bad bind address would be found with the fd already open.
const optionsProblem = (address: Address.Address, options: ConnectOptions): InvalidAddress | undefined => {
  const option = (reason: string) => new InvalidAddress({ input: Address.format(address), field: "option", reason })
  if (typeof options !== "object" || options === null) return option(`options must be an object, got ${shown(options)}`)
  for (const key of ["noDelay", "keepAlive", "reuseAddress"] as const) {
    const value: unknown = options[key]
    if (value !== undefined && typeof value !== "boolean") return option(`${key} must be a boolean, got ${shown(value)}`)
  }
  const linux: unknown = options.linux
  if (linux !== undefined && (typeof linux !== "object" || linux === null)) return option(`linux must be an object, got ${shown(linux)}`)
  const synRetries: unknown = options.linux?.synRetries
  if (synRetries !== undefined && !(Number.isInteger(synRetries) && (synRetries as number) >= 1 && (synRetries as number) <= 127)) {
    return option(`linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got ${shown(synRetries)}`)
  }
  const userTimeout: unknown = options.linux?.userTimeout
  if (userTimeout !== undefined && userTimeoutMillis(userTimeout) === undefined) {
    return option(
      `linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got ${shown(userTimeout)}`
    )
  }
  const local: unknown = options.local
  if (local === undefined) return undefined
  if (address._tag !== "Tcp") return option("local: binding is for tcp addresses only")
  if (typeof local !== "object" || local === null) return option(`local must be an object, got ${shown(local)}`)
  const { host, port } = local as { readonly host?: unknown; readonly port?: unknown }
  if (host !== undefined) {
    const problem = check.hostProblem(() => "", host as string)
    if (problem !== undefined) return option(`local.host ${problem.reason}`)
    if (Address.ipVersion(Address.tcp(host as string, 0)) === undefined) {
      return option(`local.host must be an IP address to bind to, not a name: ${host as string}`)
    }
  }
  const portProblem = port === undefined ? undefined : check.portProblem(() => "", port as number, "local")
  return portProblem === undefined ? undefined : option(`local.port ${portProblem.reason}`)
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
    const resolveAndRace = (address: Address.Tcp, options: ConnectOptions) =>
      Effect.flatMap(resolver.resolve(address.host), (answers): Effect.Effect<
        Connection,
        InetError | UnixError | InvalidAddress | Policy.AllAttemptsFailed<InetError | UnixError | InvalidAddress>,
        Scope.Scope
      > => {
        const candidates = Arr.map(interleave(answers), (r) => Address.tcp(r.address, address.port))
        if (candidates.length === 1) return attempt(candidates[0], options)
        return Policy.race<Address.Tcp, Connection, InetError | UnixError | InvalidAddress, never>(candidates, (c) => attempt(c, options), {
          describe: Address.format,
          ...(options.attemptDelay === undefined ? {} : { delay: options.attemptDelay })
        })
      })
    // Checked with plain functions, not effects: this runs on every connect.
    const connect = (address: Address.Address, options: ConnectOptions = {}) =>
      Effect.suspend(() => {
        const problem = check.addressProblem(() => Address.format(address), address, "remote") ?? optionsProblem(address, options)
        if (problem !== undefined) return Effect.fail(problem)
        switch (address._tag) {
          case "Unspecified":
            return Effect.fail(
              new InvalidAddress({
                input: Address.format(address),
                field: "family",
                reason: "unspecified: is for dissolving a datagram association, a stream cannot connect to it"
              })
            )
          case "UnixPath":
          case "Abstract":
            return attempt(address, options)
          case "Tcp":
            return Address.ipVersion(address) !== undefined ? attempt(address, options) : resolveAndRace(address, options)
        }
      })
    return { connect } as Connector["Type"]
  })
