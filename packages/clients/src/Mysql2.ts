/**
 * mysql2's `stream` option over our connect: `mysql.createConnection({ ..., stream })`, also for pools.
 *
 * @since 0.1.0
 */
import type { Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import type { Duplex } from "node:stream"
import { DialSocket } from "./internal/DialSocket.js"
import { opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * The options mysql2 hands its `stream` factory (its `{ config }`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  readonly config: { readonly host?: string; readonly port?: number; readonly socketPath?: string }
}

/**
 * The synchronous `stream` factory mysql2 calls for each connection: it dials at once to the
 * connection's `socketPath`, or its `host` and `port`. A failed dial destroys the stream with the
 * dial's error itself, which mysql2 hands to the connect's callback or promise.
 *
 * @example
 * const stream = yield* Mysql2.stream()
 * const connection = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "app", stream })
 *
 * @since 0.1.0
 * @category constructors
 */
export const stream = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>
): Effect.Effect<(options: StreamOptions) => Duplex, never, Requires<R>> =>
  opener(dial, (open) => ({ config }: StreamOptions) => {
    const target = config.socketPath
      ? { path: config.socketPath }
      : { host: config.host ?? "localhost", port: config.port ?? 3306 }
    return new DialSocket(open, target).start()
  })
