/**
 * One attempt at a target: a connect (closed at once), or for an http(s) URL a GET over our
 * connect. Its failure is the library's typed error itself, or one of the three below.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, Connector, Errno } from "@effect-connect/core"
import { Effect, Predicate, Schema, type Scope } from "effect"
import * as Target from "./Target.js"

/**
 * The server answered with a status that does not count as up. Transient: a server that is
 * starting often answers 503 first.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpStatus extends Schema.TaggedError<HttpStatus>()("HttpStatus", {
  address: Schema.String,
  status: Schema.Number
}) {
  readonly transient = true
  override get message(): string {
    return `GET ${this.address} answered ${this.status}, not one of the statuses that count as up`
  }
}

/**
 * The connect succeeded and the http exchange failed: the server closed the connection, sent
 * no headers in time, or the TLS handshake failed. A certificate the client rejects is permanent
 * (waiting does not fix it; `--insecure` does); the rest are transient.
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpFailed extends Schema.TaggedError<HttpFailed>()("HttpFailed", {
  address: Schema.String,
  reason: Schema.String,
  code: Schema.optionalKey(Schema.String),
  transient: Schema.Boolean
}) {
  override get message(): string {
    return `GET ${this.address} failed: ${this.reason}${this.code === undefined ? "" : ` (${this.code})`}`
  }
}

/**
 * `--reverse`: the target still accepts connections.
 *
 * @since 0.1.0
 * @category errors
 */
export class StillUp extends Schema.TaggedError<StillUp>()("StillUp", {
  address: Schema.String,
  remote: Schema.String
}) {
  readonly transient = true
  override get message(): string {
    return `${this.address} still accepts connections (connected to ${this.remote})`
  }
}

/**
 * What an attempt that reached the target found.
 *
 * @since 0.1.0
 * @category models
 */
export interface Up {
  readonly remote: string
  readonly status?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly attemptTimeout: number
  readonly statuses: Target.StatusSet
  readonly insecure: boolean
}

/**
 * Any error an attempt can fail with.
 *
 * @since 0.1.0
 * @category models
 */
export type ProbeError = ConnectError.ConnectError | Connector.ErrorFor<Address.Tcp> | HttpStatus | HttpFailed

const certificateCodes = /^(ERR_TLS_CERT|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET|VERIFY)_|ERR_SSL_WRONG_VERSION)/

// undici hands the connect function's error back as the request's error: ours keep their tag.
const httpError = (address: string, e: unknown): ProbeError => {
  if (ConnectError.isConnectError(e) || Predicate.isTagged(e, "AllAttemptsFailed")) return e as ProbeError
  const code = Predicate.hasProperty(e, "code") && typeof e.code === "string" ? e.code : undefined
  return new HttpFailed({
    address,
    reason: e instanceof Error ? e.message : String(e),
    ...(code === undefined ? {} : { code }),
    transient: code === undefined || !certificateCodes.test(code)
  })
}

/**
 * The attempt for a target: made once per target (an http target's client lives as long as the
 * wait), run once per attempt.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  target: Target.Target,
  options: Options
): Effect.Effect<Effect.Effect<Up, ProbeError, Connector.Connector>, never, Connector.Connector | Scope.Scope> => {
  if (target._tag === "Socket") {
    return Effect.succeed(
      Effect.scoped(Effect.map(
        Connector.connect(target.address, { timeout: options.attemptTimeout }),
        (connection) => ({ remote: Address.format(connection.remote) })
      ))
    )
  }
  const address = target.url.href
  return Effect.gen(function*() {
    // undici (and our connect under it) is loaded only when there is an http target: it is most
    // of a cold start's cost. A bundle imports CommonJS undici as its default export.
    const [undici, Undici] = yield* Effect.promise(() =>
      Promise.all([
        import("undici").then((m) => (typeof m.Agent === "function" ? m : (m as unknown as { default: typeof m }).default)),
        import("@effect-connect/clients/Undici")
      ])
    )
    // The dial's own timeout is the attempt's, so that a slow connect is our TimedOut, not
    // undici's connect timeout (off: 0).
    const connect = yield* Undici.connect(
      (address) => Connector.connect(address, { timeout: options.attemptTimeout }),
      { tls: { rejectUnauthorized: !options.insecure }, timeout: 0 }
    )
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => new undici.Agent({ connect, connectTimeout: options.attemptTimeout, headersTimeout: options.attemptTimeout })),
      (agent) => Effect.promise(() => agent.destroy())
    )
    return Effect.tryPromise({
      try: async (signal) => {
        const response = await undici.request(target.url, {
          dispatcher: agent,
          method: "GET",
          signal,
          reset: true,
          headers: { "user-agent": "wait-for (effect-connect)" }
        })
        await response.body.dump()
        return response.statusCode
      },
      catch: (e) => httpError(address, e)
    }).pipe(
      Effect.timeoutOrElse({
        duration: options.attemptTimeout,
        orElse: () => Effect.fail(ConnectError.deadline(address, Errno.currentPlatform))
      }),
      Effect.flatMap((status) =>
        Target.accepts(options.statuses, status)
          ? Effect.succeed({ remote: Address.format(target.address), status })
          : Effect.fail(new HttpStatus({ address, status }))
      )
    )
  })
}
