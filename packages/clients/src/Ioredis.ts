/**
 * ioredis's `Connector` option over our connect: `new Redis({ ..., Connector })`.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector } from "@effect-connect/core"
import { Effect, type Scope } from "effect"
import type { RedisOptions } from "ioredis"
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
 * and `port`, and hands ioredis the connected socket. A failed dial rejects ioredis's connect with
 * the dial's error itself: it is the rejection of `redis.connect()`, of the commands ioredis was
 * holding, and its 'error' event. ioredis takes a connector's rejection as final (no
 * `retryStrategy` after it), so for a long-lived client put the retry in `dial`
 * (`Policy.retryTransient`). `disconnect()` while dialing cancels the dial. TLS (`tls` option) is
 * not done here. Options that are none (a connector built by a caller other than ioredis) or a
 * `disconnectTimeout` that is no number of milliseconds reject each connect with the InvalidOption
 * naming `Ioredis.options` or `Ioredis.disconnectTimeout`; junk in `host`, `port` or `path`, with
 * the connect's InvalidAddress naming the field.
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
        private readonly wanted: Wanted
        private cancel: (() => void) | undefined
        constructor(options: unknown) {
          const problem = optionsProblem(options)
          super(problem === undefined ? (options as RedisOptions).disconnectTimeout ?? 2000 : 2000)
          this.wanted = problem ?? targetOf(options as RedisOptions)
        }
        connect(): Promise<Stream> {
          this.connecting = true
          return new Promise<Stream>((resolve, reject) => {
            this.cancel = open(this.wanted, (error, socket) => {
              this.cancel = undefined
              if (error !== undefined) return reject(error)
              if (!this.connecting) {
                socket!.destroy()
                return reject(new Error("Connection is closed."))
              }
              this.stream = socket!
              resolve(socket!)
            })
          })
        }
        override disconnect(): void {
          this.cancel?.()
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
