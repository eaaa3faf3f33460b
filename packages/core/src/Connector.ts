/**
 * The `Connector` service: `connect(address, options)` to a scoped `Connection`, failing with
 * exactly the errors the address's family can produce. `make` builds one from a platform's `Dial`
 * (one connect to one IP literal or unix address) and adds what every platform shares: input
 * checks, name resolution, RFC 8305 racing, the per-attempt timeout, a span, log annotations and
 * a metric per attempt.
 *
 * @since 0.1.0
 */
import {
  Array as Arr,
  Clock,
  Context,
  Duration,
  Effect,
  type Fiber,
  LogLevel,
  Metric,
  References,
  type Scope,
  Tracer
} from "effect"
import * as Address from "./Address.js"
import {
  type InetError,
  InvalidAddress,
  type HostNotFound,
  type ResolveFailed,
  type TimedOut,
  type UnixError,
  deadline
} from "./ConnectError.js"
import type { Connection } from "./Connection.js"
import * as Errno from "./Errno.js"
import * as Attempts from "./internal/attempts.js"
import * as check from "./internal/check.js"
import * as Options from "./internal/options.js"
import * as Spans from "./internal/spans.js"
import * as Policy from "./Policy.js"
import { interleave, Resolver } from "./Resolver.js"

/**
 * Options of one connect.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /**
   * Per attempt (per address, for a name): `TimedOut { source: "deadline", scope: "attempt" }`
   * when it passes.
   */
  readonly timeout?: Duration.Input
  /** Bind to this local address and/or port before connecting (inet only). */
  readonly local?: { readonly host?: string; readonly port?: number }
  /** TCP_NODELAY. */
  readonly noDelay?: boolean
  /** SO_KEEPALIVE. */
  readonly keepAlive?: boolean
  /** SO_REUSEADDR, before the bind. */
  readonly reuseAddress?: boolean
  /** RFC 8305 Connection Attempt Delay when a name has several addresses. Default 250 ms. */
  readonly attemptDelay?: Duration.Input
  /** Linux only: TCP_SYNCNT (SYN retransmits before ETIMEDOUT) and TCP_USER_TIMEOUT. */
  readonly linux?: { readonly synRetries?: number; readonly userTimeout?: Duration.Input }
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
 * a failed attempt never holds its fd until the end of a long retry loop. `make` calls a `Dial`
 * when the attempt runs (never ahead, as a race builds its attempts), so what a `Dial` decides
 * when called, it decides at the moment of the attempt.
 *
 * `make` applies `options.timeout` around the dial, unless the dial says `appliesTimeout`: it
 * then fails with `timedOut()` (given when `options.timeout` is set) once the timeout passes
 * from the moment the attempt runs, so a platform can expire many attempts more cheaply than
 * a timer and a racing fiber each.
 *
 * @since 0.1.0
 * @category models
 */
export interface Dial {
  (
    address: Dialable,
    options: ConnectOptions,
    timedOut?: () => TimedOut
  ): Effect.Effect<Connection, InetError | UnixError | InvalidAddress, Scope.Scope>
  readonly appliesTimeout?: boolean
}

/**
 * The service that connects: a platform (the native or the `node:net` connector, the unix one, a
 * scripted one in tests) provides it.
 *
 * @since 0.1.0
 * @category services
 */
export class Connector extends Context.Service<Connector, {
  /** Connects to `address`, in the caller's scope: the connection is closed when the scope closes. */
  readonly connect: <A extends Address.Address>(
    address: A,
    options?: ConnectOptions
  ) => Effect.Effect<Connection, ErrorFor<A>, Scope.Scope>
}>()("@effect-connect/core/Connector") {}

/**
 * Connects through the `Connector` in context.
 *
 * @example
 * ```ts
 * import { Address, Connector } from "@effect-connect/core"
 * import { Effect } from "effect"
 *
 * // The connection is closed when the scope closes; a refusal is a value, not a throw.
 * const isUp = Effect.scoped(Connector.connect(Address.tcp("127.0.0.1", 5432), { timeout: "1 second" })).pipe(
 *   Effect.as(true),
 *   Effect.catchTag("ConnectionRefused", () => Effect.succeed(false))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const connect = <A extends Address.Address>(
  address: A,
  options?: ConnectOptions
): Effect.Effect<Connection, ErrorFor<A>, Connector | Scope.Scope> =>
  Effect.flatMap(Connector, (connector) => connector.connect(address, options))

const attributesDoc = "by outcome (ok or the error's tag), error.type (the error's tag), network.transport and network.type"
const attemptsOptions = { description: `connect attempts, ${attributesDoc}` }
const latencyOptions = {
  description: `connect attempt latency in seconds, ${attributesDoc}`,
  boundaries: Metric.exponentialBoundaries({ start: 0.001, factor: 2, count: 16 })
}

/**
 * Attempts, with the attributes of `latency`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const attempts: Metric.Counter<number> = Metric.counter("effect_connect_attempts_total", attemptsOptions)

/**
 * How long each attempt took, in seconds, at the clock's millisecond resolution. Its attributes
 * are the low-cardinality ones of the attempt's span: `outcome` (`ok` or the error's tag), and
 * OpenTelemetry's semantic conventions `error.type` (the error's tag, on a failure only),
 * `network.transport` (`tcp` or `unix`) and `network.type` (`ipv4` or `ipv6`, for tcp). Not
 * `server.address` or `server.port`, although OpenTelemetry's HTTP and database metrics have
 * them: a metric keeps every series it ever had, and addresses (a name's IPs, which change as
 * hosts come and go) are unbounded; the span carries them.
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency: Metric.Histogram<number> = Metric.histogram("effect_connect_attempt_seconds", latencyOptions)

// The family of a dialed address: what network.transport and network.type say. A dialed tcp
// host is an IP literal, checked before the dial: only an IPv6 one has a colon.
type Network = "ipv4" | "ipv6" | "unix"
const networkOf = (address: Dialable): Network =>
  address._tag === "Tcp" ? (address.host.includes(":") ? "ipv6" : "ipv4") : "unix"

const networkAttributes = {
  ipv4: { "network.transport": "tcp", "network.type": "ipv4" },
  ipv6: { "network.transport": "tcp", "network.type": "ipv6" },
  unix: { "network.transport": "unix" }
} as const

interface Series {
  readonly attempts: Metric.Counter<number>
  readonly latency: Metric.Histogram<number>
}

// One pair of metrics per outcome and network, made once, each with its attributes: the same
// series as `Metric.withAttributes(attempts, { outcome, ... })`, without the context that would
// add to every update. A metric caches its series key per attribute set of the fiber's.
const byOutcome = new Map<string, Partial<Record<Network, Series>>>()
const seriesOf = (outcome: string, network: Network): Series => {
  let byNetwork = byOutcome.get(outcome)
  if (byNetwork === undefined) {
    byNetwork = {}
    byOutcome.set(outcome, byNetwork)
  }
  let series = byNetwork[network]
  if (series === undefined) {
    const attributes = {
      outcome,
      ...(outcome === "ok" ? {} : { "error.type": outcome }),
      ...networkAttributes[network]
    }
    series = {
      attempts: Metric.counter(attempts.id, { ...attemptsOptions, attributes }),
      latency: Metric.histogram(latency.id, { ...latencyOptions, attributes })
    }
    byNetwork[network] = series
  }
  return series
}

type DialError = InetError | UnixError | InvalidAddress

// The attempt counted and timed, synchronously: Metric.update as an effect would cost more steps
// than the connect's own.
const record = (fiber: Fiber.Fiber<unknown, unknown>, clock: Clock.Clock, start: number, outcome: string, network: Network) => {
  const series = seriesOf(outcome, network)
  series.attempts.updateUnsafe(1, fiber.context)
  series.latency.updateUnsafe((clock.currentTimeMillisUnsafe() - start) / 1000, fiber.context)
}

// An address as OpenTelemetry's *.address attributes say it: the host, or the socket's path, or
// an abstract socket's name written `@name` as ss(8) and systemd write it.
const hostOf = (address: Dialable): string =>
  address._tag === "Tcp" ? address.host : address._tag === "UnixPath" ? address.path : `@${address.name}`

// The attempt's span, when it starts: the target as we write it, and as OpenTelemetry's semantic
// conventions do (server.* is the address asked for, a name when it was one; network.peer.* the
// address dialed). One object, written field by field: this runs on every traced attempt.
const spanOfAttempt = (fiber: Fiber.Fiber<unknown, unknown>, server: Dialable, address: Dialable) => {
  const attributes: Record<string, unknown> = {
    "connect.address": Address.format(address),
    "connect.attempt": fiber.getRef(Policy.currentAttempt),
    "server.address": hostOf(server),
    "network.peer.address": hostOf(address),
    "network.transport": address._tag === "Tcp" ? "tcp" : "unix"
  }
  if (address._tag === "Tcp") {
    attributes["server.port"] = address.port
    attributes["network.peer.port"] = address.port
    attributes["network.type"] = networkOf(address)
  }
  return attributes
}

// `connect.errno` is "" for an error without one (an InvalidAddress).
const spanOfFailure = (e: DialError): Record<string, unknown> => {
  const attributes = Spans.failureAttributes(e._tag, e)
  attributes["connect.outcome"] = e._tag
  attributes["connect.errno"] ??= ""
  return attributes
}

// A connection's local address is read lazily and the read can fail (the connection may already
// be closed, getsockname may fail): the span then goes without it, the connect succeeded anyway.
// An unnamed unix socket (a client's own end, unbound) has no local address to say.
const spanOfSuccess = (c: Connection): Record<string, unknown> => {
  try {
    const local = c.local
    const attributes: Record<string, unknown> = { "connect.outcome": "ok", "connect.local": Address.format(local) }
    if (local._tag === "Tcp") {
      attributes["network.local.address"] = local.host
      attributes["network.local.port"] = local.port
    } else if (local._tag === "UnixPath" && local.path !== "") {
      attributes["network.local.address"] = local.path
    }
    return attributes
  } catch {
    return { "connect.outcome": "ok" }
  }
}

// Counted, timed, logged, written to a deadline's journal, and traced when a tracer listens; read
// synchronously from the fiber, since this wraps every attempt: one continuation on the effect.
// `server` is the address asked for: `address` itself, or the name it was resolved from.
const observedIn = (
  fiber: Fiber.Fiber<unknown, unknown>,
  address: Dialable,
  effect: Effect.Effect<Connection, DialError, Scope.Scope>,
  server: Dialable = address
): Effect.Effect<Connection, DialError, Scope.Scope> => {
  const journal = fiber.getRef(Attempts.current)
  if (journal !== undefined) {
    journal.dials++
    journal.target = address
  }
  const clock = fiber.getRef(Clock.Clock)
  const start = clock.currentTimeMillisUnsafe()
  const network = networkOf(address)
  const counted = Effect.matchEffect(effect, {
    onFailure: (e) => {
      record(fiber, clock, start, e._tag, network)
      if (journal !== undefined) Attempts.failed(journal, e)
      // The message, the address's text and the annotations cost more than a failed loopback
      // connect: built only when a debug line can be written.
      if (LogLevel.isGreaterThan(fiber.getRef(References.MinimumLogLevel), "Debug")) return Effect.fail(e)
      return Effect.andThen(
        Effect.annotateLogs(Effect.logDebug(`connect failed: ${e.message}`), {
          address: Address.format(address),
          attempt: fiber.getRef(Policy.currentAttempt)
        }),
        Effect.fail(e)
      )
    },
    onSuccess: (c) => {
      record(fiber, clock, start, "ok", network)
      return Effect.succeed(c)
    }
  })
  // A span costs a third of a loopback connect: made only when a tracer will receive it.
  return fiber.getRef(Tracer.Tracer) === Tracer.nativeTracer ? counted : counted.pipe(
    Effect.tapError((e) => Effect.annotateCurrentSpan(spanOfFailure(e))),
    Effect.tap((c) => Effect.annotateCurrentSpan(spanOfSuccess(c))),
    Effect.withSpan(
      "effect-connect.connect",
      { attributes: spanOfAttempt(fiber, server, address), kind: "client" },
      { captureStackTrace: false }
    )
  )
}


const { shown } = Options

// TCP_USER_TIMEOUT takes an int of milliseconds; the kernel refuses a negative one.
const userTimeoutMillis = (u: unknown): number | undefined => {
  const d = Options.duration(u, false)
  if (typeof d === "string") return undefined
  const ms = Duration.toMillis(d)
  return Number.isInteger(ms) && ms <= 2147483647 ? ms : undefined
}

// Every option checked before any syscall: a value the addon cannot take would otherwise throw
// after socket(2), and a bad bind address would be found with the fd already open.
const durationKeys = ["timeout", "attemptDelay"] as const
const booleanKeys = ["noDelay", "keepAlive", "reuseAddress"] as const
const noOptions: ConnectOptions = {}

const optionsProblem = (address: Address.Address, options: ConnectOptions): InvalidAddress | undefined => {
  if (options === noOptions) return undefined
  const option = (reason: string) => new InvalidAddress({ input: Address.format(address), field: "option", reason })
  if (typeof options !== "object" || options === null) return option(`options must be an object, got ${shown(options)}`)
  // Effect would die on a timeout of "bogus" and read -1 as 0.
  for (const key of durationKeys) {
    const value: unknown = options[key]
    const reason = value === undefined ? undefined : Options.duration(value, true)
    if (typeof reason === "string") return option(`${key} ${reason}`)
  }
  for (const key of booleanKeys) {
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
export const make = (dial: Dial): Effect.Effect<Connector["Service"], never, Resolver> =>
  Effect.map(Resolver, (resolver) => {
    const timed = (address: Dialable, options: ConnectOptions) => {
      const timeout = options.timeout
      if (timeout === undefined) return dial(address, options)
      const timedOut = () =>
        deadline(Address.format(address), Errno.currentPlatform, { scope: "attempt", elapsed: Duration.toMillis(timeout) })
      return dial.appliesTimeout === true
        ? dial(address, options, timedOut)
        : Effect.timeoutOrElse(dial(address, options), { duration: timeout, orElse: () => Effect.fail(timedOut()) })
    }
    // The dial is made when the attempt runs, not when a race builds it: a platform may decide
    // things (such as whether the event loop's turn has room) when it is called.
    const attempt = (address: Dialable, options: ConnectOptions, server: Address.Tcp) =>
      Effect.withFiber<Connection, DialError, Scope.Scope>((fiber) => observedIn(fiber, address, timed(address, options), server))
    const resolveAndRace = (address: Address.Tcp, options: ConnectOptions) =>
      Effect.flatMap(resolver.resolve(address.host), (answers): Effect.Effect<
        Connection,
        InetError | UnixError | InvalidAddress | Policy.AllAttemptsFailed<InetError | UnixError | InvalidAddress>,
        Scope.Scope
      > => {
        const candidates = Arr.map(interleave(answers), (r) => Address.tcp(r.address, address.port))
        if (candidates.length === 1) return attempt(candidates[0], options, address)
        // No InvalidOption from this race: its candidates and functions are ours, and
        // optionsProblem has checked attemptDelay.
        return Policy.race<Address.Tcp, Connection, InetError | UnixError | InvalidAddress, never>(candidates, (c) => attempt(c, options, address), {
          describe: Address.format,
          ...(options.attemptDelay === undefined ? {} : { delay: options.attemptDelay })
        }) as Effect.Effect<Connection, InetError | UnixError | InvalidAddress | Policy.AllAttemptsFailed<InetError | UnixError | InvalidAddress>, Scope.Scope>
      })
    // Checked with plain functions, not effects, in the fiber's own step: this runs on every
    // connect.
    const connect = (address: Address.Address, options: ConnectOptions = noOptions) =>
      Effect.withFiber<Connection, DialError | HostNotFound | ResolveFailed | Policy.AllAttemptsFailed<DialError>, Scope.Scope>((fiber) => {
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
            return observedIn(fiber, address, timed(address, options))
          case "Tcp":
            return Address.ipVersion(address) !== undefined
              ? observedIn(fiber, address, timed(address, options))
              : resolveAndRace(address, options)
        }
      })
    return { connect } as Connector["Service"]
  })
