/**
 * undici's `connect` option over our connect (`new Agent({ connect })`, `new Client(url, { connect })`,
 * and so `fetch(url, { dispatcher })`), and Effect's `HttpClient` (`effect/http`) over it.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector } from "@effect-connect/core"
import { Effect, Layer, type Scope } from "effect"
import type { HttpClient } from "effect/http/HttpClient"
import { isIP } from "node:net"
import * as tls from "node:tls"
import type { buildConnector } from "undici"
import { objectProblem, opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Connect to this unix socket whatever the URL's host (undici does not tell a custom connector its `socketPath`). */
  readonly socketPath?: string
  /** For https: extra `tls.connect` options (`ca`, `cert`, `rejectUnauthorized`, ...). */
  readonly tls?: tls.ConnectionOptions
}

/**
 * undici's `connect` function: each connection dialed through `dial` to the origin's host and
 * port (or `socketPath`); for https, TLS over it with `tls.connect({ socket, servername })`. A
 * failed dial is handed to undici as the error itself: it is `fetch`'s `cause` and the `cause` of
 * undici's errors.
 *
 * @example
 * const connect = yield* Undici.connect()
 * const response = await fetch(url, { dispatcher: new Agent({ connect }) })
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: ConnectOptions = {}
): Effect.Effect<buildConnector.connector, never, Requires<R>> =>
  opener(dial, (open): buildConnector.connector => {
    const invalid = optionsProblem(options)
    return (origin, callback) => {
      if (invalid !== undefined) return void process.nextTick(callback, invalid, null)
      const https = origin.protocol === "https:"
      const target = options.socketPath !== undefined
        ? { path: options.socketPath }
        : { host: origin.hostname, port: Number(origin.port) || (https ? 443 : 80) }
      open(target, (error, socket) => {
        if (error !== undefined) return callback(error, null)
        // As undici's own connector does: a request is written at once, not held for an ACK.
        socket!.setNoDelay(true)
        if (!https) return callback(null, socket!)
        const servername = origin.servername || (isIP(origin.hostname) ? undefined : origin.hostname)
        let secure: tls.TLSSocket
        try {
          secure = tls.connect({
            ALPNProtocols: ["http/1.1"],
            ...options.tls,
            socket: socket!,
            ...(servername === undefined ? {} : { servername })
          })
        } catch (e) {
          // node:tls throws for `tls` values it cannot take (`ca: 5`): its TypeError names the option.
          socket!.destroy()
          return callback(e as Error, null)
        }
        const failed = (e: Error) => {
          secure.destroy()
          callback(e, null)
        }
        secure.once("error", failed)
        secure.once("secureConnect", () => {
          secure.off("error", failed)
          callback(null, secure)
        })
      })
    }
  })

// Options from an untyped caller, said to undici for each connection as the InvalidOption that
// names them, not thrown as a TypeError inside undici's dispatch.
const optionsProblem = (options: unknown): ConnectError.InvalidOption | undefined => {
  const invalid = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `Undici.${option}`, reason })
  const none = objectProblem("Undici.options", options)
  if (none !== undefined) return none
  const { socketPath, tls } = options as { readonly socketPath?: unknown; readonly tls?: unknown }
  if (socketPath !== undefined && typeof socketPath !== "string") return invalid("socketPath", `must be a string, got ${ConnectError.shown(socketPath)}`)
  return tls === undefined ? undefined : objectProblem("Undici.tls", tls)
}

/**
 * Effect's `HttpClient` (`effect/http`, through @effect/platform-node's undici client) on an undici
 * `Agent` whose connections are ours; the agent is destroyed with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: ConnectOptions = {}
): Layer.Layer<HttpClient, never, Requires<R>> =>
  Layer.unwrap(Effect.gen(function*() {
    // Loaded here, not at the top: @effect/platform-node (and the undici it loads) is an optional peer.
    const NodeHttpClient = yield* Effect.promise(() => import("@effect/platform-node/NodeHttpClient"))
    const connector = yield* connect(dial, options)
    return Layer.provide(NodeHttpClient.layerUndiciNoDispatcher, NodeHttpClient.layerDispatcherOptions({ connect: connector }))
  }))
