/**
 * STAND-IN for `Undici.connect` of `@effect-connect/clients` (issue 8), kept in this one module so
 * that it can be swapped for it at merge: undici's `connect` option, each connect made by the
 * `Connector` in context (`Connector.connect` + `connection.toNodeSocket()`), so that a refused or
 * unreachable http target fails with our typed error itself, which undici hands back as the
 * request's error.
 *
 * @since 0.1.0
 */
import { Address, type Connection, Connector } from "@effect-connect/core"
import { Cause, Effect, Exit, Option, Runtime, Scope } from "effect"
import { connect as tlsConnect, type ConnectionOptions } from "node:tls"
import type { buildConnector } from "undici"

/**
 * One connect to the http server's address, with whatever policy the caller wants around it.
 *
 * @since 0.1.0
 * @category models
 */
export type Dial<E, R> = (address: Address.Tcp) => Effect.Effect<Connection.Connection, E, R | Scope.Scope>

/**
 * An undici `connect` function over `dial` (default: one `Connector.connect`). The connection's
 * scope is its own, closed when undici closes the socket; https is TLS over that socket.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = <E, R>(
  dial: Dial<E, R>,
  tls: ConnectionOptions = {}
): Effect.Effect<buildConnector.connector, never, Exclude<R, Scope.Scope>> =>
  Effect.map(Effect.runtime<Exclude<R, Scope.Scope>>(), (runtime) => {
    const run = Runtime.runCallback(runtime)
    return (options, callback) => {
      const https = options.protocol === "https:"
      const host = options.hostname.replace(/^\[(.*)\]$/, "$1")
      const port = options.port === "" ? (https ? 443 : 80) : Number(options.port)
      const scope = Effect.runSync(Scope.make())
      const close = () => Effect.runFork(Scope.close(scope, Exit.void))
      run(Scope.extend(dial(Address.tcp(host, port)), scope) as Effect.Effect<Connection.Connection, E, Exclude<R, Scope.Scope>>, {
        onExit: (exit) => {
          if (Exit.isFailure(exit)) {
            close()
            // Our typed error itself, so that its tag survives into undici's error.
            const failure = Option.getOrElse(Cause.failureOption(exit.cause), () => new Error(Cause.pretty(exit.cause)))
            return callback(failure as Error, null)
          }
          const socket = exit.value.toNodeSocket()
          socket.once("close", close)
          if (!https) return callback(null, socket)
          const secure = tlsConnect({ ...tls, socket, servername: options.servername ?? host, ALPNProtocols: ["http/1.1"] })
          const fail = (error: Error) => {
            secure.destroy()
            callback(error, null)
          }
          secure.once("error", fail)
          secure.once("secureConnect", () => {
            secure.off("error", fail)
            callback(null, secure)
          })
        }
      })
    }
  })

/**
 * One `Connector.connect`, the default `Dial`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const dial = (options?: Connector.ConnectOptions): Dial<Connector.ErrorFor<Address.Tcp>, Connector.Connector> => (address) =>
  Connector.connect(address, options)
