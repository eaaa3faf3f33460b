// The clients' rows of `npm run bench` (run by packages/native/bench/run.js through vite-node,
// so it shares the tests' server harness): each client over its own connect ("own"), and over our
// adapter with NativeConnector.layer ("native") and with NodeConnector.layer ("node"), to private
// servers over TCP and unix. Each row runs warm-ups, then BENCH_CLIENTS_ROUNDS rounds, one block
// of each contender per round, the order rotated each round; a contender's rate, CPU time per op
// and p50 are its median block's, and a ratio is the median of the ratios within a round (so the
// machine's drift between rounds cancels). On a shared machine the CPU time per op (this
// process's) moves far less than the rate.
// - pg: `new Client` + connect + `SELECT 1` + end (`Pg.stream`), to a private PostgreSQL.
// - postgres.js: `postgres()` + `SELECT 1` + end, one connection (`Postgres.socket`).
// - undici: a request on a fresh connection each time, a new `Client` per request (`Undici.connect`),
//   to a node:http server in a process of its own.
// - node:http: a request on a fresh connection each time, an Agent without keep-alive (`Http.agent`).
// - net.Socket: what any socket consumer gets, `Connector.connect` + `toNodeSocket()` + destroy,
//   against `net.connect` + destroy, to the same server.
import { Address, Connector } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import { loadavg } from "node:os"
import { join } from "node:path"
import pg from "pg"
import postgresJs from "postgres"
import { Client as UndiciClient } from "undici"
import * as Http from "../src/Http.js"
import * as Pg from "../src/Pg.js"
import * as Postgres from "../src/Postgres.js"
import * as Undici from "../src/Undici.js"
import { missing, postgres, tempDir } from "../test/servers.js"

const N = Number(process.env.BENCH_CLIENTS_N ?? 400)
const ROUNDS = Number(process.env.BENCH_CLIENTS_ROUNDS ?? 10)
// A request is some 20x faster than a PostgreSQL connection (a backend forked each time), a bare
// socket some 5x faster again: their rows run this many times N, so that their blocks last long
// enough to measure.
const HTTP = 3
const SOCKET = 10

// BENCH_CLIENTS=pg,undici: only the rows of these (net.Socket, pg, postgres.js, undici, node:http).
const only = process.env.BENCH_CLIENTS?.split(",")

const connectors = { native: NativeConnector.layer, node: NodeConnector.layer } as const
type Ours = keyof typeof connectors
type Op = () => Promise<unknown>

// An adapter built on one connector, as an app builds it: the layer provided once.
const over = <A, E>(layer: Layer.Layer<Connector.Connector>, effect: Effect.Effect<A, E, Connector.Connector>) =>
  Effect.runPromise(Effect.orDie(Effect.provide(effect, layer)))

interface Block { readonly rate: number; readonly p50: number; readonly cpu: number }

// `n` sequential ops: ops/s, p50 in microseconds, and this process's CPU time (user + system)
// per op in microseconds: what the client and our connect cost, which the other processes on a
// shared machine change far less than the wall-clock rate.
const measure = async (n: number, op: Op): Promise<Block> => {
  const lat: Array<number> = []
  const cpu = process.cpuUsage()
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await op()
    lat.push(performance.now() - t)
  }
  const elapsed = performance.now() - start
  const { user, system } = process.cpuUsage(cpu)
  lat.sort((a, b) => a - b)
  return { rate: n / (elapsed / 1000), p50: lat[Math.floor(n / 2)] * 1000, cpu: (user + system) / n }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Warm-ups, then the rounds. Each measure of a contender is its median block; each ratio (>1:
// faster than "own") the median of the round's ratios.
const compare = async (n: number, contenders: Record<"own" | Ours, Op>) => {
  const names = Object.keys(contenders) as Array<"own" | Ours>
  for (const name of names) await measure(Math.ceil(n / 10), contenders[name])
  const blocks = Object.fromEntries(names.map((name) => [name, [] as Array<Block>]))
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length]
      blocks[name].push(await measure(Math.ceil(n / ROUNDS), contenders[name]))
    }
  }
  const summary = (name: "own" | Ours) => ({
    rate: median(blocks[name].map((b) => b.rate)),
    p50: median(blocks[name].map((b) => b.p50)),
    cpu: median(blocks[name].map((b) => b.cpu)),
    rateRatio: median(blocks[name].map((b, r) => b.rate / blocks.own[r].rate)),
    cpuRatio: median(blocks[name].map((b, r) => blocks.own[r].cpu / b.cpu))
  })
  return [summary("own"), summary("native"), summary("node")] as const
}

// A node:http server answering "ok" on 127.0.0.1 and on a unix socket, in a process of its own.
const httpServer = () =>
  new Promise<{ port: number; path: string; stop: () => void }>((resolve, reject) => {
    const dir = tempDir()
    const path = join(dir, "http.sock")
    const child = spawn(process.execPath, ["-e", `
      const http = require("node:http")
      const handler = (q, s) => s.end("ok")
      // The socket rows connect and close faster than a loaded server accepts: a deep backlog.
      const tcp = http.createServer(handler).listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, () =>
        http.createServer(handler).listen({ path: ${JSON.stringify(path)}, backlog: 4096 }, () => console.log(tcp.address().port)))
    `], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    child.stdout!.once("data", (d) => resolve({ port: Number(String(d).trim()), path, stop: () => {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    } }))
  })

type Client = (target: "tcp" | "unix") => Promise<Record<"own" | Ours, Op>>

// What every socket consumer pays: a connected net.Socket, then closed. Own: net.connect.
const socketClient = (server: { port: number; path: string }): Client => async (transport) => {
  const where = transport === "tcp" ? { host: "127.0.0.1", port: server.port } : { path: server.path }
  const address = "path" in where ? Address.unix(where.path) : Address.tcp(where.host, where.port)
  const ours = async (layer: Layer.Layer<Connector.Connector>): Promise<Op> => {
    const run = Effect.runPromiseWith(await Effect.runPromise(Effect.scoped(Layer.build(layer))))
    return () => run(Effect.scoped(Effect.map(Connector.connect(address), (c) => c.toNodeSocket().destroy())))
  }
  return {
    own: () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect(where, () => {
          socket.destroy()
          resolve()
        })
        socket.once("error", reject)
      }),
    native: await ours(connectors.native),
    node: await ours(connectors.node)
  }
}

const pgClient = (server: { port: number; dir: string }): Client => async (transport) => {
  const host = transport === "tcp" ? "127.0.0.1" : server.dir
  const once = (stream?: () => import("node:stream").Duplex): Op => async () => {
    const client = new pg.Client({ host, port: server.port, user: "postgres", database: "postgres", ...(stream ? { stream } : {}) })
    await client.connect()
    await client.query("SELECT 1")
    await client.end()
  }
  return { own: once(), native: once(await over(connectors.native, Pg.stream())), node: once(await over(connectors.node, Pg.stream())) }
}

const postgresClient = (server: { port: number; socket: string }): Client => async (transport) => {
  const where = transport === "tcp" ? { host: "127.0.0.1", port: server.port } : { path: server.socket }
  const once = (socket?: unknown): Op => async () => {
    // postgres.js's types do not declare `socket`: the options go through a variable.
    const options = { ...where, user: "postgres", database: "postgres", max: 1, onnotice: () => {}, ...(socket ? { socket } : {}) }
    const sql = postgresJs(options)
    await sql`SELECT 1`
    await sql.end()
  }
  return {
    own: once(),
    native: once(await over(connectors.native, Postgres.socket())),
    node: once(await over(connectors.node, Postgres.socket()))
  }
}

const undiciClient = (server: { port: number; path: string }): Client => async (transport) => {
  const origin = `http://127.0.0.1:${server.port}`
  const socketPath = transport === "unix" ? { socketPath: server.path } : {}
  const once = (connect?: import("undici").buildConnector.connector): Op => async () => {
    const client = new UndiciClient(origin, connect ? { connect } : socketPath)
    const { body } = await client.request({ path: "/", method: "GET" })
    await body.text()
    await client.close()
  }
  return {
    own: once(),
    native: once(await over(connectors.native, Undici.connect(undefined, socketPath))),
    node: once(await over(connectors.node, Undici.connect(undefined, socketPath)))
  }
}

const httpClient = (server: { port: number; path: string }): Client => async (transport) => {
  const where = transport === "tcp" ? { host: "127.0.0.1", port: server.port } : { socketPath: server.path }
  const once = (agent: http.Agent): Op => () =>
    new Promise<void>((resolve, reject) => {
      http.get({ ...where, path: "/", agent }, (res) => {
        res.resume()
        res.once("end", resolve)
      }).once("error", reject)
    })
  // No keep-alive: each request its own connection, closed after it.
  return {
    own: once(new http.Agent()),
    native: once(await over(connectors.native, Http.agent())),
    node: once(await over(connectors.node, Http.agent()))
  }
}

const main = async () => {
  const rows: Array<Record<string, string>> = []
  const bench = async (name: string, n: number, client: Client) => {
    if (only !== undefined && !only.some((o) => name.startsWith(o))) return
    for (const transport of ["tcp", "unix"] as const) {
      const [own, native, node] = await compare(n, await client(transport))
      const each = (f: (x: typeof own) => number) => [own, native, node].map((x) => f(x).toFixed(0)).join(" / ")
      const ratios = (f: (x: typeof own) => number) => [native, node].map((x) => `${f(x).toFixed(2)}x`).join(" / ")
      rows.push({
        row: `${name} (${transport})`,
        "/s own / native / node": each((x) => x.rate),
        "rate vs own: native / node": ratios((x) => x.rateRatio),
        "cpu us/op own / native / node": each((x) => x.cpu),
        "cpu vs own: native / node": ratios((x) => x.cpuRatio),
        "p50 us own / native / node": each((x) => x.p50)
      })
    }
  }
  const load = () => loadavg().map((l) => l.toFixed(2)).join(" ")
  const loadBefore = load()

  const why = missing.postgres()
  if (why === undefined) {
    const server = await postgres()
    await server.start()
    try {
      await bench("pg connect+SELECT 1+end", N, pgClient(server))
      await bench("postgres.js connect+SELECT 1+end", N, postgresClient(server))
    } finally {
      await server.remove()
    }
  } else console.error(`pg and postgres.js rows skipped: ${why}`)

  const server = await httpServer()
  try {
    await bench("net.Socket: connect + toNodeSocket() + destroy", N * SOCKET, socketClient(server))
    await bench("undici request, fresh connection", N * HTTP, undiciClient(server))
    await bench("node:http request, fresh connection", N * HTTP, httpClient(server))
  } finally {
    server.stop()
  }
  console.log(
    `clients: each client over its own connect (own), over ours with NativeConnector.layer (native) and NodeConnector.layer (node); ` +
      `sequential, N = ${N} per contender (${N * HTTP} for HTTP, ${N * SOCKET} for net.Socket) in ${ROUNDS} rotated rounds; each figure the median block, each ratio (>1: faster than own) the median of the rounds' ratios; cpu: this process's user+system time per op; ` +
      `load average before ${loadBefore}, after ${load()}`
  )
  console.table(rows)
}

await main()
