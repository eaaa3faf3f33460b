// The clients' rows of `npm run bench` (run by packages/native/bench/run.js through vite-node,
// so it shares the tests' server harness): each client's own connect against the same client
// over ours, in alternating blocks, medians of the blocks.
// - pg: `new Client` + connect + `SELECT 1` + end, `Pg.stream()` vs pg's own connect, to a
//   private PostgreSQL (TCP and unix).
// - undici: a request on a fresh connection each time (a new `Client` per request),
//   `Undici.connect()` vs undici's default connector, to an http server in its own process.
import { NativeConnector } from "@effect-connect/native"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import pg from "pg"
import { Client as UndiciClient } from "undici"
import { Pg, Undici } from "../src/index.js"
import { missing, postgres } from "../test/servers.js"

const N = Number(process.env.BENCH_CLIENTS_N ?? 400)
const BLOCKS = 5

const run = <A>(effect: Effect.Effect<A, never, never>) => Effect.runPromise(effect)
const ours = <A, E>(effect: Effect.Effect<A, E, import("@effect-connect/core").Connector.Connector>) =>
  run(Effect.orDie(Effect.provide(effect, NativeConnector.layer)))

interface Rate { readonly rate: number; readonly p50: number }

// `n` sequential ops: ops/s and p50 in microseconds.
const measure = async (n: number, op: () => Promise<unknown>): Promise<Rate> => {
  const lat: Array<number> = []
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await op()
    lat.push(performance.now() - t)
  }
  lat.sort((a, b) => a - b)
  return { rate: n / ((performance.now() - start) / 1000), p50: lat[Math.floor(n / 2)] * 1000 }
}

// A warm-up, then blocks of each contender in turn: the median block of each.
const compare = async (contenders: Record<string, () => Promise<unknown>>) => {
  const blocks: Record<string, Array<Rate>> = {}
  for (const [name, op] of Object.entries(contenders)) {
    await measure(Math.ceil(N / 10), op)
    blocks[name] = []
  }
  for (let b = 0; b < BLOCKS; b++) {
    for (const [name, op] of Object.entries(contenders)) blocks[name].push(await measure(Math.ceil(N / BLOCKS), op))
  }
  return Object.fromEntries(Object.entries(blocks).map(([name, xs]) => [name, xs.sort((a, b) => a.rate - b.rate)[Math.floor(xs.length / 2)]]))
}

const httpServer = () =>
  new Promise<{ port: number; stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", `
      require("node:http").createServer((q, s) => s.end("ok")).listen(0, "127.0.0.1", function () { console.log(this.address().port) })
    `], { stdio: ["ignore", "pipe", "inherit"] })
    child.once("error", reject)
    child.stdout!.once("data", (d) => resolve({ port: Number(String(d).trim()), stop: () => child.kill() }))
  })

const main = async () => {
  const rows: Array<Record<string, string>> = []
  const row = (name: string, theirs: Rate, us: Rate) =>
    rows.push({
      row: name, "theirs /s": theirs.rate.toFixed(0), "ours /s": us.rate.toFixed(0),
      "p50 us theirs / ours": `${theirs.p50.toFixed(0)} / ${us.p50.toFixed(0)}`, "ours/theirs": `${(us.rate / theirs.rate).toFixed(2)}x`
    })

  const why = missing.postgres()
  if (why === undefined) {
    const server = await postgres()
    await server.start()
    try {
      const stream = await ours(Pg.stream())
      for (const [label, host] of [["tcp", "127.0.0.1"], ["unix", server.dir]] as const) {
        const once = (withStream: boolean) => async () => {
          const client = new pg.Client({ host, port: server.port, user: "postgres", database: "postgres", ...(withStream ? { stream } : {}) })
          await client.connect()
          await client.query("SELECT 1")
          await client.end()
        }
        const r = await compare({ theirs: once(false), ours: once(true) })
        row(`pg connect+SELECT 1+end (${label})`, r.theirs, r.ours)
      }
    } finally {
      await server.remove()
    }
  } else console.error(`pg rows skipped: ${why}`)

  const http = await httpServer()
  try {
    const connect = await ours(Undici.connect())
    const origin = `http://127.0.0.1:${http.port}`
    const once = (withOurs: boolean) => async () => {
      const client = new UndiciClient(origin, withOurs ? { connect } : {})
      const { body } = await client.request({ path: "/", method: "GET" })
      await body.text()
      await client.close()
    }
    const r = await compare({ theirs: once(false), ours: once(true) })
    row("undici request, fresh connection (tcp)", r.theirs, r.ours)
  } finally {
    http.stop()
  }
  console.log(`clients: each client's own connect (theirs) vs over ours (ours); sequential, N = ${N} per contender in ${BLOCKS} alternating blocks, median block`)
  console.table(rows)
}

await main()
