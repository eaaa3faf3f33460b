/**
 * ioredis's `Connector` option over our connect: `new Redis({ ..., Connector })`.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import { Effect, type Scope } from "effect"
import type { RedisOptions } from "ioredis"
import { DialSocket } from "./internal/DialSocket.js"
import { opener } from "./internal/open.js"
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
 * and `port`. The stream is handed to ioredis while it dials, as ioredis's own is, so its
 * reconnects, offline queue and `retryStrategy` work as usual; a failed dial is the stream's
 * error, the error itself: ioredis's 'error' event, and the rejection of `connect()` and of the
 * commands it flushes. TLS (`tls` option) is not done here.
 *
 * @example
 * const Connector = yield* Ioredis.connector()
 * const redis = new Redis({ host: "127.0.0.1", port: 6379, Connector })
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
        private readonly options: RedisOptions
        constructor(options: unknown) {
          const redis = options as RedisOptions
          super(redis.disconnectTimeout ?? 2000)
          this.options = redis
        }
        connect(): Promise<Stream> {
          this.connecting = true
          const { host, path, port } = this.options
          const socket = new DialSocket(open, path ? { path } : { host: host ?? "localhost", port: port ?? 6379 }).start()
          socket.once("error", (error) => {
            this.firstError = error
          })
          // A net.Socket as far as ioredis looks (connecting, the events, setNoDelay, setKeepAlive,
          // setTimeout, end, destroy).
          this.stream = socket as unknown as Stream
          return Promise.resolve(this.stream)
        }
      }
    }))
