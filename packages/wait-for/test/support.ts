// The CLI as a process: bundled from the sources once per test file (the same bundle as the
// `wait-for` bin), run with a bounded time, its output collected.
import { Effect, Exit, Scope } from "effect"
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { loadedBinding } from "../../native/src/internal/binding.js"
import { ownPort } from "../../native/test/support.js"
import { bundle } from "../scripts/bundle.mjs"

export interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/**
 * Bundles the CLI for this file; `cli.path` is the entry. `WAIT_FOR_CLI=path` runs the tests
 * against another build instead (the tsc output, or an older wait-for).
 */
export const useCli = () => {
  const cli = { path: "", dir: "" }
  beforeAll(async () => {
    cli.dir = mkdtempSync(join(tmpdir(), "wait-for-test-"))
    cli.path = process.env.WAIT_FOR_CLI ?? await bundle(join(cli.dir, "bundle"))
  })
  afterAll(() => rmSync(cli.dir, { recursive: true, force: true }))
  return cli
}

/** A plain environment: no TTY, no NO_COLOR from the caller. */
export const env = (extra: Record<string, string> = {}) => {
  const { NO_COLOR: _, FORCE_COLOR: __, ...rest } = process.env
  return { ...rest, ...extra }
}

/** Starts the CLI; `done` resolves when it has exited (it is killed after `limit` ms). */
export const start = (path: string, args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly limit?: number } = {}) => {
  const started = Date.now()
  const child: ChildProcess = spawn(process.execPath, [path, ...args], { env: options.env ?? env(), stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const killer = setTimeout(() => child.kill("SIGKILL"), options.limit ?? 15_000)
  const done = new Promise<Ran>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  )
  return { child, done, output: () => ({ stdout, stderr }) }
}

/** Runs the CLI to its end. */
export const run = (path: string, args: ReadonlyArray<string>, options?: { readonly env?: Record<string, string>; readonly limit?: number }) =>
  start(path, args, options).done

/** Resolves when `test` holds for the output so far (checked every 10 ms, for at most `limit` ms). */
export const until = async (test: () => boolean, limit = 10_000) => {
  const deadline = Date.now() + limit
  while (!test()) {
    if (Date.now() > deadline) throw new Error("until: timed out")
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A TCP listener on 127.0.0.1 (port 0: any), each connection ended at once. */
export const listen = (port = 0, at: string | undefined = "127.0.0.1") =>
  new Promise<Server & { port: number }>((resolve, reject) => {
    const server = createServer((s) => s.end())
    server.once("error", reject)
    const ready = () => {
      const address = server.address()
      resolve(Object.assign(server, { port: typeof address === "object" && address !== null ? address.port : 0 }))
    }
    if (at === undefined) server.listen(port, ready)
    else server.listen(port, at, ready)
  })

export const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()))

/**
 * A port of ours on 127.0.0.1 that refuses connections (bound, not listening: no one else can
 * take it), held until the test's end.
 */
export const refusingPort = async () => {
  const scope = Effect.runSync(Scope.make())
  const port = await Effect.runPromise(Scope.provide(ownPort("refusing"), scope))
  return { port, release: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** The JSON lines of `--json` output. */
export const events = (stdout: string): Array<Record<string, unknown>> =>
  stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)

/** A fresh temp dir. */
export const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "wait-for-t-"))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A listener on a Linux abstract unix name, made with the addon: Node's `listen("\0name")` binds
 * the whole sun_path (the name padded with NULs), which is another name than `unix-abstract:name`.
 */
export const abstractListener = (name: string) => {
  const binding = loadedBinding()
  const c = binding.constants
  const fd = binding.socket(c.AF_UNIX, c.SOCK_STREAM)
  if (binding.bind(fd, { family: c.AF_UNIX, address: new Uint8Array([0, ...Buffer.from(name)]), port: 0 }) < 0) throw new Error("bind")
  if (binding.listen(fd, 8) < 0) throw new Error("listen")
  return { close: () => binding.close(fd) }
}

/**
 * For a test file: a listener that is up and a port that refuses, both on 127.0.0.1, made before
 * its tests and released after them.
 */
export const useTargets = () => {
  const targets = { up: 0, refused: 0 }
  let server: Server | undefined
  let release: (() => Promise<void>) | undefined
  beforeAll(async () => {
    server = await listen()
    targets.up = (server as Server & { port: number }).port
    const own = await refusingPort()
    targets.refused = own.port
    release = own.release
  })
  afterAll(async () => {
    if (server !== undefined) await close(server)
    await release?.()
  })
  return targets
}
