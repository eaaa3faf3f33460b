/**
 * A node:http / node:https `Agent` whose connections are ours: `http.get(url, { agent })`.
 *
 * @since 0.1.0
 */
import { ConnectError, type Connector } from "@effect-connect/core"
import type { Effect, Scope } from "effect"
import * as http from "node:http"
import * as https from "node:https"
import type { Duplex } from "node:stream"
import { DialSocket } from "./internal/DialSocket.js"
import { objectProblem, opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * The options of `agent`: node:https's `AgentOptions` (keep-alive, `maxSockets`, TLS, ...), and
 * which agent to make, http or https.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentOptions extends https.AgentOptions {
  /** Which agent: `"http:"` (default) or `"https:"` (TLS over our socket, with https.Agent's session cache). */
  readonly protocol?: "http:" | "https:"
}

// node:http uses the socket createConnection returns; its callback is only for ones that return none.
type CreateConnection = (options: http.ClientRequestArgs) => Duplex

/**
 * An `http.Agent` (or `https.Agent`, with `protocol: "https:"`) whose `createConnection` dials
 * through `dial`: to the request's `socketPath`, or its host and port. The request gets its socket
 * while it still dials, as from node:net: its `timeout` counts from the start of the dial, and
 * `req.destroy()` or `agent.destroy()` cancels a pending dial (its fd closed at once). A failed
 * dial is the request's 'error', the error itself. Keep-alive, pooling and `maxSockets` are the
 * agent's own.
 *
 * @example
 * ```ts
 * import { Http } from "@effect-connect/clients"
 * import { NativeConnector } from "@effect-connect/native"
 * import { Effect } from "effect"
 * import * as http from "node:http"
 *
 * // The agent's connections are dialed by our connect: a refusal is the request's 'error',
 * // `ConnectionRefused` itself.
 * const status = Effect.gen(function*() {
 *   const agent = yield* Http.agent()
 *   return yield* Effect.callback<number | undefined, Error>((resume) => {
 *     http.get("http://127.0.0.1:8080/health", { agent }, (res) => {
 *       res.resume()
 *       resume(Effect.succeed(res.statusCode))
 *     }).on("error", (error) => resume(Effect.fail(error)))
 *   })
 * }).pipe(Effect.provide(NativeConnector.layer))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const agent = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: AgentOptions = {}
): Effect.Effect<http.Agent, never, Requires<R>> =>
  opener(dial, (open) => {
    // Options from an untyped caller that are none, or a protocol of neither kind: each request's
    // socket fails with the InvalidOption that says so (the agent made is a plain http.Agent).
    const invalid = objectProblem("Http.agent options", options) ??
      (options.protocol !== undefined && options.protocol !== "http:" && options.protocol !== "https:"
        ? new ConnectError.InvalidOption({ option: "Http.agent protocol", reason: `must be "http:" or "https:", got ${ConnectError.shown(options.protocol)}` })
        : undefined)
    const { protocol = "http:", ...agentOptions } = invalid === undefined ? options : {}
    const secure = protocol === "https:"
    const agent: http.Agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
    // https.Agent's own createConnection is tls.connect(options) with its session cache: given our
    // socket, it does TLS over it.
    const tlsOver = https.Agent.prototype.createConnection as unknown as (this: http.Agent, options: http.ClientRequestArgs) => Duplex
    const createConnection: CreateConnection = (request) => {
      const target = invalid ?? (request.socketPath
        ? { path: request.socketPath }
        : { host: request.host ?? request.hostname ?? "localhost", port: Number(request.port) || (secure ? 443 : 80) })
      const socket = new DialSocket(open, target).start()
      return secure ? tlsOver.call(agent, { ...request, socket } as http.ClientRequestArgs) : socket
    }
    Object.assign(agent, { createConnection })
    return agent
  })
