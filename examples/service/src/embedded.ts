/**
 * What the service needs when nothing is given: an embedded PostgreSQL (PGlite's socket server)
 * and a local greeting service, both on 127.0.0.1, closed with the scope.
 *
 * @since 0.1.0
 */
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import { type Duration, Effect, Fiber } from "effect"
import { createServer, type Server } from "node:http"
import { createServer as createNetServer } from "node:net"

const freePort = Effect.callback<number>((resume) => {
  const probe = createNetServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as { port: number }
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * An in-memory PGlite whose socket server listens on 127.0.0.1 after `late` (in the background):
 * its `postgres://` URL.
 *
 * @since 0.1.0
 */
export const embeddedPostgres = (late: Duration.Input) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(Effect.promise(() => PGlite.create()), (db) => Effect.promise(() => db.close()))
    const port = yield* freePort
    const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port })
    yield* Effect.acquireRelease(
      Effect.forkDetach(Effect.andThen(Effect.sleep(late), Effect.promise(() => server.start()))),
      (fiber) => Effect.andThen(Fiber.await(fiber), Effect.promise(() => server.stop()))
    )
    return `postgres://postgres@127.0.0.1:${port}/postgres`
  })

/**
 * A greeting service on 127.0.0.1: its URL, and `stop`.
 *
 * @since 0.1.0
 */
export const embeddedUpstream = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(
    Effect.callback<Server>((resume) => {
      const server = createServer((req, res) => {
        const name = new URL(req.url ?? "/", "http://x").searchParams.get("name") ?? "you"
        res.end(`hello, ${name}`)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.callback<void>((resume) => {
      if (!server.listening) return resume(Effect.void)
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  )
  const { port } = server.address() as { port: number }
  const stop = Effect.callback<void>((resume) => {
    server.closeAllConnections()
    server.close(() => resume(Effect.void))
  })
  return { url: `http://127.0.0.1:${port}`, stop }
})
