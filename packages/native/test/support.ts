// What the kernel tests share: a temporary directory, a listener, and the process's fd count.
// Also imported by packages/unix's tests.
import { Effect } from "effect"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Open descriptors of this process (Linux). */
export const fdCount = (): number => readdirSync("/proc/self/fd").length

/** A fresh directory under the system's temp dir, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "ec-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/**
 * A `net` server on a TCP port (0: any; on every address, or on `host` only) or a unix path,
 * closed with the scope. Each connection is closed at once unless `onConnection` says otherwise.
 */
export const listening = (
  at: number | string = 0,
  onConnection: (socket: Socket) => void = (s) => s.destroy(),
  host?: string
) =>
  Effect.acquireRelease(
    Effect.async<Server>((resume) => {
      const server = createServer(onConnection)
      const ready = () => resume(Effect.succeed(server))
      if (typeof at === "number" && host !== undefined) server.listen(at, host, ready)
      else server.listen(at, ready)
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )
