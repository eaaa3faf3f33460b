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
import { objectProblem, opener } from "./internal/open.js"
import type { DefaultError, Dial, Requires } from "./SocketFactory.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface AgentOptions extends https.AgentOptions {
  /** Which agent: `"http:"` (default) or `"https:"` (TLS over our socket, with https.Agent's session cache). */
  readonly protocol?: "http:" | "https:"
}

type CreateConnection = (options: http.ClientRequestArgs, callback: (error: Error | null, socket: Duplex) => void) => Duplex | undefined

/**
 * An `http.Agent` (or `https.Agent`, with `protocol: "https:"`) whose `createConnection` dials
 * through `dial`: to the request's `socketPath`, or its host and port. A failed dial is the
 * request's 'error', the error itself. Keep-alive, pooling and `maxSockets` are the agent's own.
 *
 * @example
 * const agent = yield* Http.agent()
 * http.get("http://127.0.0.1:8080/", { agent }, (res) => ...)
 *
 * @since 0.1.0
 * @category constructors
 */
export const agent = <E = DefaultError, R = Connector.Connector | Scope.Scope>(
  dial?: Dial<E, R>,
  options: AgentOptions = {}
): Effect.Effect<http.Agent, never, Requires<R>> =>
  opener(dial, (open) => {
    // Options from an untyped caller that are none, or a protocol of neither kind: each request
    // fails with the InvalidOption that says so (the agent made is a plain http.Agent).
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
    const createConnection: CreateConnection = (request, callback) => {
      if (invalid !== undefined) {
        process.nextTick(callback, invalid, undefined)
        return undefined
      }
      const target = request.socketPath
        ? { path: request.socketPath }
        : { host: request.host ?? request.hostname ?? "localhost", port: Number(request.port) || (secure ? 443 : 80) }
      open(target, (error, socket) => {
        if (error !== undefined) return callback(error, undefined as unknown as Duplex)
        callback(null, secure ? tlsOver.call(agent, { ...request, socket: socket! } as http.ClientRequestArgs) : socket!)
      })
      return undefined
    }
    Object.assign(agent, { createConnection })
    return agent
  })
