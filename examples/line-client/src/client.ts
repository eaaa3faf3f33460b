/**
 * Asking a line-protocol daemon one question, the way a service talks to its cache or database:
 * the name is resolved and every address raced, only transient errors are retried (with
 * backoff, under an overall deadline), the bytes go through an Effect `Socket`, and
 * the connection is closed when the scope ends, whatever happened.
 *
 * @since 0.1.0
 */
import { Address, type ConnectError, Connector, Policy } from "@effect-connect/core"
import { type Cause, Effect } from "effect"
import * as Socket from "effect/socket/Socket"
import { createServer, type Server } from "node:net"

/**
 * Sends `line` and returns the first line of the reply.
 *
 * @since 0.1.0
 * @category client
 */
export const ask = <A extends Address.Address>(
  address: A,
  line: string
): Effect.Effect<
  string,
  Connector.ErrorFor<A> | ConnectError.TimedOut | ConnectError.InvalidOption | Socket.SocketError | Cause.TimeoutError,
  Connector.Connector
> =>
  Effect.gen(function*() {
    const connection = yield* Connector.connect(address, { timeout: "1 second", noDelay: true }).pipe(
      Policy.retryTransient(Policy.backoff({ base: "50 millis", cap: "1 second", maxAttempts: 20 })),
      Policy.deadline("10 seconds", Address.format(address))
    )
    const socket = yield* connection.toSocket()
    const pull = yield* Socket.readerString(socket)
    const writer = yield* socket.writer
    yield* writer.write(`${line}\n`)
    // Read until the first newline: a reply may come in pieces.
    const firstLine = (received: string): Effect.Effect<string, Socket.SocketError> => {
      const end = received.indexOf("\n")
      return end === -1
        ? Effect.flatMap(pull, (chunks) => firstLine(received + chunks.join("")))
        : Effect.succeed(received.slice(0, end))
    }
    return yield* firstLine("").pipe(Effect.timeout("5 seconds"))
  }).pipe(Effect.scoped)

/**
 * A tiny daemon on 127.0.0.1 that answers `PING` with `PONG` (and anything else with `ERR`),
 * listening only after `delay` ms, on a port chosen now. Closed with the scope.
 *
 * @since 0.1.0
 * @category daemon
 */
export const daemon = (delay: number) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly server: Server }>((resume) => {
      // Take a free port now, so the client can be pointed at it before the daemon is up.
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const port = (probe.address() as { port: number }).port
        probe.close(() => {
          const server = createServer((s) => {
            s.setEncoding("utf8")
            s.on("data", (d: string) => s.end(d.trim() === "PING" ? "PONG\n" : "ERR\n"))
          })
          setTimeout(() => server.listen(port, "127.0.0.1"), delay)
          resume(Effect.succeed({ port, server }))
        })
      })
    }),
    ({ server }) => Effect.sync(() => server.close())
  )
