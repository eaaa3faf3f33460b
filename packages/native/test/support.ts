// What the kernel tests share: a temporary directory, a listener, and the process's fd count.
// Also imported by packages/unix's tests.
import { Effect } from "effect"
import { closeSync, mkdtempSync, openSync, readdirSync, readlinkSync, readSync, realpathSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadedBinding, type SockAddr } from "../src/internal/binding.js"

// Once `node:tls` is loaded (@effect/platform-node's NodeSocket loads it), Node reads its CA
// certificates on a thread of its own; with NODE_EXTRA_CA_CERTS set that thread opens the file,
// and on a busy machine it can still hold it open while a test counts. It is none of ours.
const extraCaFile = (() => {
  const file = process.env.NODE_EXTRA_CA_CERTS
  try {
    return file === undefined || file === "" ? undefined : realpathSync(file)
  } catch {
    return undefined
  }
})()

const isExtraCaFile = (fd: string) => {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === extraCaFile
  } catch {
    return false
  }
}

/** Open descriptors of this process (Linux), Node's own read of NODE_EXTRA_CA_CERTS left out. */
export const fdCount = (): number => {
  const fds = readdirSync("/proc/self/fd")
  return extraCaFile === undefined ? fds.length : fds.filter((fd) => !isExtraCaFile(fd)).length
}

/** A fresh directory under the system's temp dir, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "ec-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/**
 * A `net` server on a TCP port (0: any; on every address, or on `host` only) or a unix path,
 * closed with the scope. Each connection is closed at once unless `onConnection` says otherwise.
 * A listen that fails (a port in use; on Node 24 a unix path longer than sun_path, EINVAL) fails
 * with the server's error, rather than leaving the wait hanging and the error uncaught.
 */
export const listening = (
  at: number | string = 0,
  onConnection: (socket: Socket) => void = (s) => s.destroy(),
  host?: string
) =>
  Effect.acquireRelease(
    Effect.callback<Server, NodeJS.ErrnoException>((resume) => {
      const server = createServer(onConnection)
      const failed = (error: NodeJS.ErrnoException) => resume(Effect.fail(error))
      const ready = () => {
        server.off("error", failed)
        resume(Effect.succeed(server))
      }
      server.once("error", failed)
      if (typeof at === "number" && host !== undefined) server.listen(at, host, ready)
      else server.listen(at, ready)
    }),
    (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
  )

/**
 * A TCP port of ours on 127.0.0.1, closed with the scope. Bound, so no connect takes it as its
 * own source port (which would make a connect to it a self-connect).
 * - `"refusing"`: not listening, so connects to it are refused.
 * - `"stuck"`: listening with backlog 0 and never accepting: once it holds a connection or two,
 *   the kernel drops further SYNs and connects stay in progress until something stops them.
 */
export const ownPort = (kind: "refusing" | "stuck") =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const binding = loadedBinding()
        const c = binding.constants
        const fd = binding.socket(c.AF_INET, c.SOCK_STREAM)
        if (binding.bind(fd, { family: c.AF_INET, address: "127.0.0.1", port: 0 }) < 0) throw new Error("bind 127.0.0.1:0")
        if (kind === "stuck" && binding.listen(fd, 0) < 0) throw new Error("listen")
        const name = binding.getsockname(fd)
        if (typeof name === "number") throw new Error(`getsockname: ${name}`)
        return { fd, port: name.port }
      }),
      ({ fd }) => Effect.sync(() => loadedBinding().close(fd))
    ),
    ({ port }) => port
  )

/**
 * Opens files at `dir` until one gets the number `fd` (the kernel hands out the lowest free one,
 * and other tests' fds come and go): the file at `fd`, with the others closed again. A test of
 * "closed exactly once": a second close of the number closes this file.
 */
export const reopenAs = (fd: number, dir: string) => {
  const others: Array<number> = []
  try {
    for (let i = 0; i < 256; i++) {
      const file = openSync(join(dir, `file-${fd}-${i}`), "w+")
      writeFileSync(file, `file ${i}`)
      if (file === fd) return file
      others.push(file)
    }
    throw new Error(`fd ${fd} did not come back within 256 opens`)
  } finally {
    for (const other of others) closeSync(other)
  }
}

/** What `reopenAs` wrote into the file at `fd`: `file <n>`. */
export const content = (fd: number) => {
  const buffer = Buffer.alloc(64)
  return buffer.subarray(0, readSync(fd, buffer, 0, 64, 0)).toString()
}

/**
 * A listener made with the raw binding (socket, bind, listen) that never accepts: connects
 * complete into its backlog and no fd of this process follows them, so a test's fd count
 * stays exact; with a small `backlog` further connects find it full. Closed with the scope.
 * Resolves with getsockname's port (0 for unix).
 */
export const rawListener = (family: "inet" | "unix", address: SockAddr, backlog = 4096) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const binding = loadedBinding()
        const c = binding.constants
        const fd = binding.socket(family === "inet" ? c.AF_INET : c.AF_UNIX, c.SOCK_STREAM)
        if (binding.bind(fd, address) < 0 || binding.listen(fd, backlog) < 0) throw new Error(`listen ${String(address.address)}`)
        const name = binding.getsockname(fd)
        if (typeof name === "number") throw new Error(`getsockname: ${name}`)
        return { fd, port: name.port }
      }),
      ({ fd }) => Effect.sync(() => loadedBinding().close(fd))
    ),
    ({ port }) => port
  )
