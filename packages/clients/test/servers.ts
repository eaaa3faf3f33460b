// The clients' test harness: private real servers (PostgreSQL, Redis, MariaDB, an https server)
// on free loopback ports and unix sockets in temp dirs, started and stopped by the tests, never
// the machine's own instances; and an fd watch for "each fd closed exactly once".
import { type Address, Connector, Policy } from "@effect-connect/core"
import { Effect } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chownSync, closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { content, fdCount, reopenAs } from "../../native/test/support.js"
import type { Dial } from "../src/SocketFactory.js"

export { fdCount }

/** The first of `candidates` that exists, or undefined. */
const firstExisting = (candidates: ReadonlyArray<string>) => candidates.find((p) => existsSync(p))

const onPath = (name: string) =>
  firstExisting(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].map((d) => join(d, name)))

const postgresBin = () => {
  const root = "/usr/lib/postgresql"
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : []
  return versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "postgres")))
}

/**
 * Why a server kind cannot run here (a binary missing), or undefined when it can: tests put it
 * in their names when they skip.
 */
export const missing = {
  postgres: () => postgresBin() === undefined ? "PostgreSQL's initdb/postgres not installed" : onPath("runuser") === undefined ? "runuser not installed" : undefined,
  redis: () => onPath("redis-server") === undefined ? "redis-server not installed" : undefined,
  mariadb: () => onPath("mariadbd") === undefined || onPath("mariadb-install-db") === undefined ? "mariadbd/mariadb-install-db not installed" : undefined,
  openssl: () => onPath("openssl") === undefined ? "openssl not installed" : undefined
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const userOf = (name: string) => ({
  uid: Number(execFileSync("id", ["-u", name]).toString()),
  gid: Number(execFileSync("id", ["-g", name]).toString())
})

/** A fresh directory under the system's temp dir, owned by `owner` when given. */
export const tempDir = (owner?: { readonly uid: number; readonly gid: number }) => {
  const dir = mkdtempSync(join(tmpdir(), "ec-clients-"))
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
  return dir
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A private server: `start()` spawns it with stdout and stderr to a log file (so the test
 * process holds no pipe to it) and waits for `ready` in the log; `stop()` signals it and waits
 * for its exit.
 */
export class Server {
  private child: ChildProcess | undefined
  private starts = 0
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
    readonly socket: string,
    readonly command: ReadonlyArray<string>,
    private readonly ready: RegExp,
    private readonly stopSignal: NodeJS.Signals = "SIGTERM",
    readonly user: { readonly uid?: number; readonly gid?: number } = {},
    /** Where the server's own tools are (PostgreSQL's pg_ctl). */
    readonly bin = ""
  ) {}

  get running() {
    return this.child !== undefined
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child !== undefined) return
    const log = join(this.dir, `${this.name}-${++this.starts}.log`)
    const fd = openSync(log, "w")
    const child = spawn(this.command[0], this.command.slice(1), { stdio: ["ignore", fd, fd], ...this.user })
    closeSync(fd)
    this.child = child
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) => reject(new Error(`${this.name} exited (${code ?? signal}): ${readFileSync(log, "utf8").slice(-2000)}`))))
    exited.catch(() => {})
    const deadline = Date.now() + timeoutMs
    while (!this.ready.test(readFileSync(log, "utf8"))) {
      if (Date.now() > deadline) {
        await this.stop()
        throw new Error(`${this.name} not ready after ${timeoutMs} ms: ${readFileSync(log, "utf8").slice(-2000)}`)
      }
      await Promise.race([sleep(20), exited])
    }
  }

  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined) return
    this.child = undefined
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000)
      child.once("exit", () => {
        clearTimeout(kill)
        resolve()
      })
      child.kill(this.stopSignal)
    })
  }

  async remove(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/**
 * A private PostgreSQL: initdb into a temp dir and postgres, both as the `postgres` user (it
 * refuses root); trust authentication for user `postgres`; TCP on 127.0.0.1 and a unix socket
 * in the dir. Not started.
 */
export const postgres = async (): Promise<Server> => {
  const bin = postgresBin()!
  const user = userOf("postgres")
  const dir = tempDir(user)
  const data = join(dir, "data")
  execFileSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"], { stdio: "ignore", ...user, cwd: dir })
  const port = await freePort()
  return new Server("postgres", dir, port, join(dir, `.s.PGSQL.${port}`), [
    join(bin, "postgres"), "-D", data, "-p", String(port), "-k", dir,
    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=40", "-c", "shared_buffers=16MB"
  ], /database system is ready to accept connections/, "SIGINT", user, bin)
}

/** A private redis-server: no persistence, TCP on 127.0.0.1 and a unix socket. Not started. */
export const redis = async (): Promise<Server> => {
  const dir = tempDir()
  const port = await freePort()
  const socket = join(dir, "redis.sock")
  return new Server("redis", dir, port, socket, [
    onPath("redis-server")!, "--port", String(port), "--bind", "127.0.0.1", "--unixsocket", socket,
    "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"
  ], /Ready to accept connections/)
}

/**
 * A private MariaDB: mariadb-install-db into a temp dir and mariadbd with no defaults files,
 * grant tables skipped (any user is let in), TCP on 127.0.0.1 and a unix socket. Not started.
 */
export const mariadb = async (): Promise<Server> => {
  const dir = tempDir()
  const data = join(dir, "data")
  execFileSync(onPath("mariadb-install-db")!, ["--no-defaults", `--datadir=${data}`, "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"], { stdio: "ignore", cwd: dir })
  const port = await freePort()
  const socket = join(dir, "mysqld.sock")
  return new Server("mariadb", dir, port, socket, [
    onPath("mariadbd")!, "--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, "--bind-address=127.0.0.1",
    "--user=root", "--skip-grant-tables", `--pid-file=${join(dir, "mariadb.pid")}`, "--skip-log-bin", "--innodb-buffer-pool-size=16M",
    "--skip-name-resolve"
  ], /ready for connections/)
}

/** A self-signed certificate for `name` (default `localhost`) and 127.0.0.1, made with openssl in a temp dir. */
export const selfSigned = (name = "localhost") => {
  const dir = tempDir()
  try {
    execFileSync(onPath("openssl")!, [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name},IP:127.0.0.1`,
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")
    ], { stdio: "ignore" })
    return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const inode = (fd: number) => {
  try {
    return fstatSync(fd).ino
  } catch {
    return undefined
  }
}

/**
 * A `Dial` that checks "each fd closed exactly once". When a socket it made has closed (its
 * 'close' event, before the adapter's own listener closes the socket's scope), whatever holds the
 * freed number next is watched: a file reopened at it, or, when a new connection already took the
 * number, that connection. Right after the scope's close, it must still be there; `check(n)`
 * waits for `n` such verdicts and closes the files.
 */
const fdWatch = () => {
  const dir = tempDir()
  const files: Array<number> = []
  const verdicts: Array<boolean> = []
  const dial: Dial = (address) =>
    Effect.tap(Connector.connect(address), (connection) =>
      Effect.sync(() => {
        const fd = connection.fd
        connection.toNodeSocket().prependOnceListener("close", () => {
          if (inode(fd) === undefined) files.push(reopenAs(fd, dir))
          const holder = inode(fd)
          process.nextTick(() => verdicts.push(holder !== undefined && inode(fd) === holder))
        })
      }))
  const check = async (expected: number) => {
    for (let i = 0; i < 200 && verdicts.length < expected; i++) await sleep(10)
    const files_ = files.splice(0)
    const survived = files_.every((fd) => /^file /.test(content(fd)))
    for (const fd of files_) closeSync(fd)
    return verdicts.splice(0).map((v) => v && survived)
  }
  return { dial, check, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * A peer on 127.0.0.1 that drops SYNs: a listener in a child process that never accepts (its
 * thread blocked in `Atomics.wait`), with a backlog of 1 filled by two connections. The kernel
 * drops a SYN to a listener whose accept queue is full, so a connect to `port` stays pending
 * (libuv retransmits, as to a firewalled host) until it is cancelled or the kernel gives up
 * after about 130 s. `close()` kills the child and closes the fillers.
 */
export const droppingPeer = async () => {
  const child = spawn(process.execPath, ["-e", `
const server = require("node:net").createServer()
server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
  process.stdout.write(server.address().port + "\\n")
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
})`], { stdio: ["ignore", "pipe", "ignore"] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the dropping peer exited (${code})`)))
    child.stdout!.once("data", (line) => resolve(Number(String(line))))
  })
  child.stdout!.destroy()
  const fillers: Array<Socket> = []
  // Connects until one stays pending: the queue is full (at most 8, 50 ms apart).
  for (let i = 0; i < 8 && fillers.every((s) => !s.connecting); i++) {
    fillers.push(connect(port, "127.0.0.1").on("error", () => {}))
    await sleep(50)
  }
  const close = async () => {
    for (const s of fillers) s.destroy()
    child.kill("SIGKILL")
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once("exit", resolve))
  }
  if (fillers.every((s) => !s.connecting)) {
    await close()
    throw new Error("the dropping peer's accept queue did not fill")
  }
  return { port, close }
}

/** Waits (up to 2 s) for the fd count to come back to `before`: a server's end of a connection closes when it reads the FIN. */
export const fdsBackTo = async (before: number) => {
  for (let i = 0; i < 200 && fdCount() > before; i++) await sleep(10)
  return fdCount()
}

/**
 * A `Dial` as a user writes one for a server that may not be up yet: `Policy.retryTransient`
 * over `Connector.connect`, with each failed attempt's tag pushed to `tags`.
 */
export const retrying = (tags: Array<string>) => (address: Address.Tcp | Address.Unix) =>
  Connector.connect(address).pipe(
    Effect.tapError((e) => Effect.sync(() => tags.push(e._tag))),
    Policy.retryTransient(Policy.backoff({ base: "20 millis", cap: "100 millis", maxAttempts: 200 }))
  )

/** Starts `server` after `ms`; the promise settles when it is up. */
export const startLate = (server: { readonly start: () => Promise<void> }, ms: number) => sleep(ms).then(() => server.start())

/**
 * `attempt` until it does not fail with the server's 57P03 ("the database system is starting
 * up"), which a PostgreSQL that was just started answers for a moment after it listens.
 */
export const pastStartup = async <A>(attempt: () => Promise<A>): Promise<A> => {
  for (let i = 0; ; i++) {
    try {
      return await attempt()
    } catch (e) {
      if ((e as { code?: unknown }).code !== "57P03" || i >= 100) throw e
      await sleep(20)
    }
  }
}

/** What a promise rejects with (fails the test when it resolves). */
export const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then((value) => {
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
  }, (e: unknown) => e)

// vitest's `expect`, loaded only by the helpers that assert: the bench (packages/clients/bench)
// uses this module's servers outside vitest.
const assertions = () => import("vitest")

/**
 * Runs `use` with a `Dial` whose sockets are watched, then asserts that at least `atLeast`
 * sockets closed, each fd exactly once (`fdWatch`), and that the fd count is back to where it was.
 */
export const eachFdClosedOnce = async (atLeast: number, use: (dial: Dial) => Promise<void>) => {
  const { expect } = await assertions()
  const watch = fdWatch()
  const before = fdCount()
  try {
    await use(watch.dial)
    const verdicts = await watch.check(atLeast)
    expect(verdicts.length).toBeGreaterThanOrEqual(atLeast)
    expect(verdicts).not.toContain(false)
    expect(await fdsBackTo(before)).toBe(before)
  } finally {
    watch.remove()
  }
}

/**
 * Stops `server`, starts it again 300 ms later, and runs `reach` with a `retrying` dial meanwhile:
 * asserts that the dial saw refusals, all of them `tag` (or, with `alsoSeen`, `tag` and maybe
 * those).
 */
export const reachedLate = async (
  server: { readonly stop: () => Promise<void>; readonly start: () => Promise<void> },
  tag: string,
  reach: (dial: ReturnType<typeof retrying>) => Promise<void>,
  alsoSeen: ReadonlyArray<string> = []
) => {
  const { expect } = await assertions()
  await server.stop()
  const tags: Array<string> = []
  const late = startLate(server, 300)
  await reach(retrying(tags))
  await late
  expect(tags.length).toBeGreaterThan(0)
  expect(tags).toContain(tag)
  expect(tags.filter((t) => t !== tag && !alsoSeen.includes(t))).toEqual([])
}
