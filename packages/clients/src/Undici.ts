/**
 * undici's `connect` option over our connect (`new Agent({ connect })`, `new Client(url, { connect })`,
 * and so `fetch(url, { dispatcher })`), an `Agent` over it, and Effect's `HttpClient`
 * (`effect/http`) over it.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector } from "@effect-connect/core"
import { Effect, Layer, type Scope } from "effect"
import type { HttpClient } from "effect/http/HttpClient"
import { isIP, type Socket } from "node:net"
import { Duplex } from "node:stream"
import * as tls from "node:tls"
import type { Agent, buildConnector } from "undici"
import { objectProblem, opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * The options of `connect` and `layer` (and `AgentOptions.connect`): a unix socket to connect to
 * instead of the origin, extra TLS options for https, and the connect timeout.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectOptions {
  /** Connect to this unix socket whatever the URL's host (undici does not tell a custom connector its `socketPath`). */
  readonly socketPath?: string
  /** For https: extra `tls.connect` options (`ca`, `cert`, `rejectUnauthorized`, ...). */
  readonly tls?: tls.ConnectionOptions
  /**
   * undici's connect timeout (its `connect: { timeout }`), in milliseconds: the dial and, for
   * https, the TLS handshake. Default 10 000, as undici's; 0 for none. (undici gives a custom
   * connector neither this nor `connectTimeout`: say it here.)
   *
   * @since 0.2.0
   */
  readonly timeout?: number
}

/**
 * undici's `connect` function: each connection dialed through `dial` to the origin's host and
 * port (or `socketPath`); for https, TLS over it with `tls.connect({ socket, servername })`. A
 * failed dial is handed to undici as the error itself: it is `fetch`'s `cause` and the `cause` of
 * undici's errors. As undici's own connector, it fails with undici's `ConnectTimeoutError`
 * (`UND_ERR_CONNECT_TIMEOUT`) after `timeout`, and hands undici a handle on the pending
 * connection: a request aborted while it dials (no other request waiting for it) cancels the dial
 * and closes its fd at once. (undici tells a connector nothing of its Agent's `destroy()`:
 * `Undici.agent` does that too.)
 *
 * @example
 * ```ts
 * import * as Undici from "@effect-connect/clients/Undici"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import { Agent, fetch } from "undici"
 *
 * // undici's connections are dialed by our connect: a refusal fails `fetch` with
 * // `ConnectionRefused` as its `cause`.
 * const body = Effect.gen(function*() {
 *   const dispatcher = new Agent({ connect: yield* Undici.connect(undefined, { timeout: 2_000 }) })
 *   const response = yield* Effect.tryPromise(() => fetch("http://127.0.0.1:8080/", { dispatcher }))
 *   return yield* Effect.tryPromise(() => response.text())
 * }).pipe(Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: ConnectOptions = {}
): Effect.Effect<buildConnector.connector, never, Requires<R>> =>
  Effect.map(connector(dial, options), ({ connect }) => connect)

/**
 * undici's `Agent` options, with `connect` as ours (`socketPath`, `tls`, `timeout`).
 *
 * @since 0.2.0
 * @category models
 */
export interface AgentOptions extends Omit<Agent.Options, "connect"> {
  /** How each connection is made: `socketPath`, `tls`, and the connect `timeout` (which wins over `connectTimeout`). */
  readonly connect?: ConnectOptions
}

/**
 * An undici `Agent` over `connect`: its connect timeout is undici's own option, `connect: {
 * timeout }` or `connectTimeout` (10 s by default), and `agent.destroy()` also cancels the dials
 * still pending (their fds closed at once), which a bare connector cannot learn of.
 *
 * @example
 * ```ts
 * import * as Undici from "@effect-connect/clients/Undici"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import { fetch } from "undici"
 *
 * // Destroyed with the scope: the dials still pending then are cancelled.
 * const body = Effect.gen(function*() {
 *   const dispatcher = yield* Effect.acquireRelease(
 *     Undici.agent(undefined, { connectTimeout: 2_000 }),
 *     (agent) => Effect.promise(() => agent.destroy())
 *   )
 *   const response = yield* Effect.tryPromise(() => fetch("http://127.0.0.1:8080/", { dispatcher }))
 *   return yield* Effect.tryPromise(() => response.text())
 * }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const agent = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: AgentOptions = {}
): Effect.Effect<Agent, never, Requires<R>> => {
  // Options that are none are handed on as the connector's, which names them (Undici.options).
  const given = typeof options === "object" && options !== null
  const { connect: connectOptions, ...agentOptions } = given ? options : {}
  const connectWith = given ? { ...connectOptions, timeout: connectOptions?.timeout ?? options.connectTimeout ?? undefined } : options
  return Effect.map(connector(dial, connectWith as ConnectOptions), ({ cancelAll, connect, undici }) =>
    new (class EffectAgent extends undici.Agent {
      // Each of destroy's forms (an error, a callback, both, neither) passed on as it came.
      override destroy(...args: Array<unknown>): Promise<void> {
        cancelAll()
        return Reflect.apply(super.destroy, this, args)
      }
    })({ ...agentOptions, connect }))
}

// The connector, and `cancelAll` for the dials still pending (for a layer or agent that owns them).
const connector = <E, R>(dial: Dial<E, R> | undefined, options: ConnectOptions) =>
  // Loaded here, not at the top: undici is an optional peer.
  Effect.flatMap(Effect.promise(() => import("undici")), (module) =>
    opener(dial, (open) => {
      // A bundle imports CommonJS undici as its default export.
      const undici = typeof module.Agent === "function" ? module : (module.default as unknown as typeof module)
      const { ConnectTimeoutError } = undici.errors
      const invalid = optionsProblem(options)
      const timeout = invalid === undefined ? options.timeout ?? 10_000 : 0
      const pending = new Set<() => void>()
      const connect: buildConnector.connector = (origin, callback) => {
        if (invalid !== undefined) return void process.nextTick(callback, invalid, null)
        const https = origin.protocol === "https:"
        const target = options.socketPath !== undefined
          ? { path: options.socketPath }
          : { host: origin.hostname, port: Number(origin.port) || (https ? 443 : 80) }
        let secure: tls.TLSSocket | undefined
        let settled = false
        // Ends the attempt: hands undici its outcome, or (`answer` undefined) closes what the
        // attempt holds, undici hearing nothing more of it.
        const end = (answer?: Parameters<typeof callback>) => {
          settled = true
          pending.delete(abandon)
          clearTimeout(timer)
          if (answer !== undefined) return callback(...answer)
          cancel()
          secure?.destroy()
        }
        const abandon = () => settled || end()
        const cancel = open(target, (error, socket) => {
          if (settled) return void socket?.destroy()
          if (error !== undefined) return end([error, null])
          // As undici's own connector does: a request is written at once, not held for an ACK.
          socket!.setNoDelay(true)
          if (!https) return end([null, socket!])
          const servername = origin.servername || (isIP(origin.hostname) ? undefined : origin.hostname)
          let tlsSocket: tls.TLSSocket
          try {
            tlsSocket = secure = tls.connect({
              ALPNProtocols: ["http/1.1"],
              ...options.tls,
              socket: socket!,
              ...(servername === undefined ? {} : { servername })
            })
          } catch (e) {
            // node:tls throws for `tls` values it cannot take (`ca: 5`): its TypeError names the option.
            socket!.destroy()
            return end([e as Error, null])
          }
          const failed = (e: Error) => {
            tlsSocket.destroy()
            end([e, null])
          }
          tlsSocket.once("error", failed)
          tlsSocket.once("secureConnect", () => {
            tlsSocket.off("error", failed)
            end([null, tlsSocket])
          })
        })
        const timer = timeout === 0 ? undefined : setTimeout(() => {
          const where = "path" in target ? target.path : `${target.host}:${target.port}`
          end()
          callback(new ConnectTimeoutError(`Connect Timeout Error (attempted address: ${where}, timeout: ${timeout}ms)`), null)
        }, timeout)
        pending.add(abandon)
        // undici cancels a connect (a request aborted while it dials) by destroying the stream its
        // connector returned.
        return new Duplex({ read() {}, destroy: (error, done) => (abandon(), done(error)) }) as unknown as Socket
      }
      return { connect, cancelAll: () => pending.forEach((abandon) => abandon()), undici }
    }))

// Options from an untyped caller, said to undici for each connection as the InvalidOption that
// names them, not thrown as a TypeError inside undici's dispatch.
const optionsProblem = (options: unknown): ConnectError.InvalidOption | undefined => {
  const invalid = (option: string, reason: string) => new ConnectError.InvalidOption({ option: `Undici.${option}`, reason })
  const none = objectProblem("Undici.options", options)
  if (none !== undefined) return none
  const { socketPath, tls, timeout } = options as { readonly socketPath?: unknown; readonly tls?: unknown; readonly timeout?: unknown }
  if (socketPath !== undefined && typeof socketPath !== "string") return invalid("socketPath", `must be a string, got ${ConnectError.shown(socketPath)}`)
  // A timer's longest delay: Node fires a longer one at once.
  if (timeout !== undefined && !(typeof timeout === "number" && timeout >= 0 && timeout <= 2 ** 31 - 1)) {
    return invalid("timeout", `must be a number of milliseconds up to 2^31 - 1, got ${ConnectError.shown(timeout)}`)
  }
  return tls === undefined ? undefined : objectProblem("Undici.tls", tls)
}

/**
 * Effect's `HttpClient` (`effect/http`, through @effect/platform-node's undici client) on an undici
 * `Agent` whose connections are ours; the agent is destroyed with the layer, and the dials still
 * pending then are cancelled (their fds closed at once).
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
    const { cancelAll, connect } = yield* connector(dial, options)
    yield* Effect.addFinalizer(() => Effect.sync(cancelAll))
    return Layer.provide(NodeHttpClient.layerUndiciNoDispatcher, NodeHttpClient.layerDispatcherOptions({ connect }))
  }))
