/**
 * ioredis's `Connector` option over our connect: `new Redis({ ..., Connector })`.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector } from "@effect-connect/core"
import { Effect, type Scope } from "effect"
import type { RedisOptions } from "ioredis"
import { DialSocket } from "./internal/DialSocket.js"
import { objectProblem, opener, type Wanted } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * ioredis's connector class.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectorClass = NonNullable<RedisOptions["Connector"]>

type Stream = Awaited<ReturnType<InstanceType<ConnectorClass>["connect"]>>

/**
 * A connector class for ioredis: each (re)connect dials through `dial` to the `path`, or `host`
 * and `port`, and hands ioredis the socket while it still dials, as ioredis's own connector does:
 * its `connectTimeout` counts from the start of the dial (and cancels it), and a failed dial is
 * the socket's 'error', the dial's error itself (ioredis's 'error' event), then its close, after
 * which ioredis's `retryStrategy` reconnects as it does from a refused `net.connect`.
 * `disconnect()` while dialing cancels the dial (its fd closed at once). TLS (`tls` option) is not
 * done here. Options that are none (a connector built by a caller other than ioredis) or a
 * `disconnectTimeout` that is no number of milliseconds fail each connect with the InvalidOption
 * naming `Ioredis.options` or `Ioredis.disconnectTimeout`; junk in `host`, `port` or `path`, with
 * the connect's InvalidAddress naming the field.
 *
 * @example
 * ```ts
 * import * as Ioredis from "@effect-connect/clients/Ioredis"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import { Redis } from "ioredis"
 *
 * // Each (re)connect is dialed by our connect: a refusal is the client's 'error',
 * // `ConnectionRefused` itself, and ioredis's `retryStrategy` reconnects as usual.
 * const pong = Effect.gen(function*() {
 *   const Connector = yield* Ioredis.connector()
 *   const redis = yield* Effect.acquireRelease(
 *     Effect.sync(() => new Redis({ host: "127.0.0.1", port: 6379, Connector })),
 *     (redis) => Effect.promise(() => redis.quit())
 *   )
 *   return yield* Effect.tryPromise(() => redis.ping())
 * }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connector = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<ConnectorClass, never, Requires<R>> =>
  // Loaded here, not at the top: ioredis is an optional peer.
  Effect.flatMap(Effect.promise(() => import("ioredis")), (ioredis) =>
    opener(dial, (open): ConnectorClass => {
      const Abstract = ioredis.AbstractConnector ?? (ioredis.default as unknown as typeof ioredis).AbstractConnector
      return class EffectConnector extends Abstract {
        private readonly wanted: Wanted
        constructor(options: unknown) {
          const problem = optionsProblem(options)
          super(problem === undefined ? (options as RedisOptions).disconnectTimeout ?? 2000 : 2000)
          this.wanted = problem ?? targetOf(options as RedisOptions)
        }
        connect(): Promise<Stream> {
          this.connecting = true
          // Our Duplex has the net.Socket surface ioredis uses.
          const socket = new DialSocket(open, this.wanted).start() as unknown as Stream
          this.stream = socket
          return Promise.resolve(socket)
        }
        override disconnect(): void {
          // ioredis's own ends a connecting socket and destroys it after `disconnectTimeout`: a
          // pending dial has nothing to flush, so it is cancelled now.
          if (this.stream?.connecting) this.stream.destroy()
          super.disconnect()
        }
      }
    }))

// Options from a caller other than ioredis (which hands its own parsed object): what would throw a
// TypeError here, or from setTimeout in `disconnect()`, is each connect's InvalidOption instead.
const optionsProblem = (options: unknown): ConnectError.InvalidOption | undefined => {
  const problem = objectProblem("Ioredis.options", options)
  if (problem !== undefined) return problem
  const { disconnectTimeout } = options as { readonly disconnectTimeout?: unknown }
  return disconnectTimeout == null || (typeof disconnectTimeout === "number" && disconnectTimeout >= 0) ? undefined
    : new ConnectError.InvalidOption({
      option: "Ioredis.disconnectTimeout",
      reason: `must be a number of milliseconds, got ${ConnectError.shown(disconnectTimeout)}`
    })
}

const targetOf = ({ host, path, port }: RedisOptions): Wanted =>
  path ? { path } : { host: host ?? "localhost", port: port ?? 6379 }
