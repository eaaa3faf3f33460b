// npm run bench: connect-then-close on loopback, unix and TCP (over 8 ports), sequential and 64
// in flight, in one run: NativeConnector (alone, and adopted by a net.Socket that is then
// destroyed) vs net.connect vs Effect.callback(net.connect) vs NodeSocket.makeNet vs C, against a C
// acceptor in its own process, and the "floor": the
// addon's bare syscalls in an Effect scope, what any Effect connect on this runtime costs. Then memory per open
// connection, event-loop lag with 10k connects in flight, and a storm of 10k connects timing out
// against a black hole in another process, each in a fresh child process so
// one contender's heap does not flatter the next. Prints rates, latencies and ratios: absolute
// numbers on shared machines are noise, ratios within one run are not.
//
//   node bench/run.js                  the whole bench (npm run bench)
//   BENCH_ROWS=connect|clients|race    only the connect rows (and memory, lag), only the clients'
//                                      rows (packages/clients/bench/clients.ts: pg, postgres.js,
//                                      undici and node:http over their own connect, over ours with
//                                      NativeConnector and with NodeConnector, to private servers;
//                                      BENCH_CLIENTS=pg,undici picks clients, BENCH_CLIENTS_N and
//                                      BENCH_CLIENTS_ROUNDS set the count and rounds), or none of
//                                      these (race: packages/core/bench/race.js's table alone)
//   node bench/run.js rss <who> <path> one memory measurement (a child of the bench)
//   node bench/run.js lag <who> <port> one event-loop lag measurement (a child of the bench)
//   node bench/run.js storm <who> <port> one storm against a black hole (a child of the bench)
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { connect as netConnect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Scope } from "effect"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Socket from "effect/socket/Socket"
import { Address, Connector } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { loadedBinding } from "../dist/internal/binding.js"

const binding = loadedBinding()

const TCP_PORTS = 8
// How an app runs effects against a built runtime: the layer built once, each effect run with
// its services (no ManagedRuntime, which also tracks every fiber it starts).
const services = await Effect.runPromise(Effect.scoped(Layer.build(NativeConnector.layer)))
const run = Effect.runPromiseWith(services)

// A target is a unix path or the first of TCP_PORTS ports; op k goes to port base + k % 8.
const targetsOf = (target) =>
  target.path !== undefined
    ? [{
      address: Address.unix(target.path),
      opts: { path: target.path },
      sockaddr: { family: binding.constants.AF_UNIX, address: Buffer.from(target.path), port: 0 }
    }]
    : Array.from({ length: TCP_PORTS }, (_, i) => ({
      address: Address.tcp("127.0.0.1", target.port + i),
      opts: { host: "127.0.0.1", port: target.port + i },
      sockaddr: { family: binding.constants.AF_INET, address: "127.0.0.1", port: target.port + i }
    }))

const netOnce = (opts) => new Promise((resolve, reject) => {
  const s = netConnect(opts, () => { s.destroy(); resolve() })
  s.once("error", reject)
})
const contenders = {
  native: { effect: (t) => Effect.scoped(Connector.connect(t.address)) },
  "net.connect": { promise: (t) => netOnce(t.opts) },
  // For users who need a net.Socket: ours adopted by one, then destroyed, as net.connect's is.
  "native+net.Socket": { effect: (t) => Effect.scoped(Effect.map(Connector.connect(t.address), (c) => c.toNodeSocket().destroy())) },
  "Effect.callback(net)": {
    effect: (t) => Effect.callback((resume) => {
      const s = netConnect(t.opts, () => { s.destroy(); resume(Effect.void) })
      s.once("error", (e) => resume(Effect.fail(e)))
    })
  },
  // The least an Effect connect can cost: the addon's syscalls, a scope and a finalizer, no
  // checks, no errors, no turns. On loopback a TCP connect is done when pollNow asks.
  "floor": {
    effect: (t) => Effect.scoped(Effect.flatMap(Effect.scope, (scope) => Effect.suspend(() => {
      const s = binding.socket(t.sockaddr.family, binding.constants.SOCK_STREAM)
      if (binding.connect(s, t.sockaddr) < 0) {
        binding.pollNow(s, binding.constants.POLL_WRITABLE)
        binding.getsockoptInt(s, binding.constants.SOL_SOCKET, binding.constants.SO_ERROR)
      }
      return Scope.addFinalizer(scope, Effect.sync(() => binding.close(s)))
    })))
  },
  // makeNet alone is lazy: acquiring the reader opens the socket; a CloseEvent destroys it, as
  // net.connect's is, and the scope's close releases the rest.
  makeNet: {
    effect: (t) => Effect.scoped(Effect.flatMap(NodeSocket.makeNet(t.opts), (socket) =>
      Effect.andThen(socket.reader, Effect.flatMap(socket.writer, (w) => w.write(new Socket.CloseEvent())))))
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]

// n ops, `inFlight` workers each taking the next op: connects/s, p50 and p99 in microseconds.
const measure = async (contender, target, n, inFlight) => {
  const ts = targetsOf(target)
  const lat = new Float64Array(n)
  let next = 0
  const start = performance.now()
  if (contender.promise) {
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < n) {
        const k = next++
        const t = performance.now()
        await contender.promise(ts[k % ts.length])
        lat[k] = performance.now() - t
      }
    }))
  } else {
    const worker = Effect.suspend(() => {
      if (next >= n) return Effect.void
      const k = next++
      const t = performance.now()
      return Effect.flatMap(contender.effect(ts[k % ts.length]), () => {
        lat[k] = performance.now() - t
        return worker
      })
    })
    await run(Effect.all(Array.from({ length: inFlight }, () => worker), { concurrency: "unbounded", discard: true }))
  }
  const rate = n / ((performance.now() - start) / 1000)
  lat.sort()
  return { rate, p50: percentile(lat, 0.5) * 1000, p99: percentile(lat, 0.99) * 1000 }
}

const median = (xs) => [...xs].sort((a, b) => a.rate - b.rate)[Math.floor(xs.length / 2)]

// Memory per open connection: open 2K to the holding listener and keep them all; the first K
// bring the heap to its working size, the second K are measured (gc before and after).
const rss = async (who, path) => {
  const K = 5000
  const opts = { path }
  let before
  const mark = (i) => {
    if (i === K) {
      globalThis.gc()
      before = process.memoryUsage()
    } else if (i === 2 * K) {
      globalThis.gc()
      const after = process.memoryUsage()
      console.log(JSON.stringify({ rss: (after.rss - before.rss) / K, heap: (after.heapUsed + after.external - before.heapUsed - before.external) / K }))
    }
  }
  if (who === "native") {
    await run(Effect.scoped(Effect.gen(function*() {
      const all = []
      for (let i = 1; i <= 2 * K; i++) {
        all.push(yield* Connector.connect(Address.unix(path)))
        mark(i)
      }
    })))
  } else if (who === "net.connect") {
    const all = []
    for (let i = 1; i <= 2 * K; i++) {
      all.push(await new Promise((resolve, reject) => {
        const s = netConnect(opts, () => resolve(s))
        s.once("error", reject)
      }))
      mark(i)
    }
    for (const s of all) s.destroy()
  } else if (who === "makeNet") {
    // Each held open by its reader, acquired in the one scope that closes them all.
    await run(Effect.scoped(Effect.gen(function*() {
      for (let i = 1; i <= 2 * K; i++) {
        const socket = yield* NodeSocket.makeNet(opts)
        yield* socket.reader
        mark(i)
      }
    })))
  }
  process.exit(0)
}

// How late an interval timer of `ms` came while `work` ran (a loop blocked throughout shows as
// one late tick, so the last gap counts too), and how long `work` took, in milliseconds.
const timerLag = async (ms, work) => {
  const delays = []
  let last = performance.now()
  const probe = setInterval(() => {
    const now = performance.now()
    delays.push(now - last - ms)
    last = now
  }, ms)
  await new Promise((r) => setTimeout(r, 2 * ms + 10))
  delays.length = 0
  const began = performance.now()
  await work()
  const took = performance.now() - began
  delays.push(performance.now() - last - ms)
  clearInterval(probe)
  delays.sort((a, b) => a - b)
  return { took, lagP50: percentile(delays, 0.5), lagP99: percentile(delays, 0.99), lagMax: delays[delays.length - 1], ticks: delays.length }
}

// Event-loop delay while 10k connect-then-close start at once (over the 8 TCP ports), each as
// its own root fiber or promise, the way a server's requests would. A 1 ms interval timer records
// how late each tick came; a loop blocked throughout shows as one late tick, so the last gap
// counts too. "harness" is the same start with a no-op in place of the connect (in the same
// Effect.scoped for fibers): the part of the delay that is starting 10k fibers or promises, not
// connecting.
const lag = async (who, port) => {
  const n = 10000
  const ts = targetsOf({ port })
  const noop = () => new Promise((resolve) => setImmediate(resolve))
  const start = {
    native: (k) => run(contenders.native.effect(ts[k % ts.length])),
    "net.connect": (k) => netOnce(ts[k % ts.length].opts),
    "harness (fibers)": () => run(Effect.scoped(Effect.promise(noop))),
    "harness (promises)": noop
  }[who]
  const { took, ...delays } = await timerLag(1, () => Promise.all(Array.from({ length: n }, (_, k) => start(k))))
  console.log(JSON.stringify({ rate: n / (took / 1000), ...delays }))
  process.exit(0)
}

// The storm: 10k connects started at once to a black hole in another process (black-hole.cjs),
// each with a 1 s timeout, so all of them time out together. A 1 ms interval timer records how
// late each tick came. "harness" starts 10k root fibers the same way, each a 1 s timeout around
// Effect.never in the same Effect.scoped: the part of the delay that is 10k fibers and their
// timeouts, not connecting.
const storm = async (who, port) => {
  const n = 10000
  const to = Address.tcp("127.0.0.1", port)
  const one = who === "native"
    ? Effect.scoped(Connector.connect(to, { timeout: "1 second" }))
    : Effect.scoped(Effect.timeoutOrElse(Effect.never, { duration: "1 second", orElse: () => Effect.fail("timeout") }))
  const fds = () => readdirSync("/proc/self/fd").length
  const before = fds()
  let outcomes = []
  const lagged = await timerLag(1, async () => {
    outcomes = await Promise.all(Array.from({ length: n }, () => run(Effect.match(one, { onFailure: () => 1, onSuccess: () => 0 }))))
  })
  console.log(JSON.stringify({ ...lagged, failed: outcomes.reduce((a, b) => a + b, 0), fdsBack: fds() === before }))
  process.exit(0)
}

const child = (args) => JSON.parse(execFileSync(process.execPath, ["--expose-gc", new URL(import.meta.url).pathname, ...args]).toString())

// TIME_WAIT entries left by a TCP row slow the next row's port search: wait (at most 70 s)
// until the kernel has let most of them go.
const drainTimeWait = async () => {
  const started = Date.now()
  const count = () => Number(/\btw (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"))?.[1] ?? 0)
  while (count() > 2000 && Date.now() - started < 70_000) await new Promise((r) => setTimeout(r, 1000))
  return (Date.now() - started) / 1000
}

const main = async () => {
  const here = new URL(".", import.meta.url).pathname
  const dir = mkdtempSync(join(tmpdir(), "ec-bench-"))
  const build = (name) => {
    const out = join(dir, name)
    execFileSync("cc", ["-O2", "-pthread", "-o", out, join(here, `${name}.c`)])
    return out
  }
  const acceptorBin = build("acceptor")
  const loopBin = build("connect_loop")
  // Below the ephemeral range (32768 and up on Linux), where outgoing connects take their ports.
  const port = 20000 + Math.floor(Math.random() * 12000)
  const acceptor = spawn(acceptorBin, [dir, String(port)], { stdio: ["ignore", "pipe", "inherit"] })
  await new Promise((resolve, reject) => {
    acceptor.stdout.once("data", resolve)
    acceptor.once("exit", (code) => reject(new Error(`the acceptor exited with ${code}`)))
  })
  try {
    const N = Number(process.env.BENCH_N ?? 5000)
    const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
    const rows = []
    for (const [label, target] of [["unix", { path: join(dir, "close.sock") }], ["tcp x8 ports", { port }]]) {
      const tcp = target.port !== undefined
      if (tcp) console.error(`waited ${await drainTimeWait()} s for TIME_WAIT to drain`)
      for (const inFlight of [1, 64]) {
        const row = { row: `${label} x${inFlight}` }
        if (inFlight === 1) {
          const [rate, p50, p99] = execFileSync(loopBin, [tcp ? "tcp" : "unix", tcp ? String(port) : target.path, String(N)])
            .toString().trim().split(" ").map(Number)
          row.C = { rate, p50, p99 }
        }
        // Interleaved: every contender once per round, ROUNDS rounds (the order reversed every
        // other round), the median of each, so that drift (other load on a shared machine,
        // TIME_WAIT entries piling up) falls on all of them alike.
        const sizeOf = (name) => name === "makeNet" ? Math.min(N, 2000) : N
        const reps = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]))
        for (const [name, contender] of Object.entries(contenders)) await measure(contender, target, Math.ceil(sizeOf(name) / 10), inFlight) // warm up
        for (let i = 0; i < ROUNDS; i++) {
          const order = Object.entries(contenders)
          for (const [name, contender] of i % 2 === 0 ? order : order.reverse()) {
            reps[name].push(await measure(contender, target, sizeOf(name), inFlight))
          }
        }
        for (const name of Object.keys(contenders)) row[name] = median(reps[name])
        rows.push(row)
      }
    }
    const memory = Object.fromEntries(["native", "net.connect", "makeNet"].map((who) => [who, child(["rss", who, join(dir, "hold.sock")])]))
    console.error(`waited ${await drainTimeWait()} s for TIME_WAIT to drain`)
    // Three interleaved rounds of each, every figure the median of its three.
    const lagWho = ["native", "harness (fibers)", "net.connect", "harness (promises)"]
    const lagRuns = Object.fromEntries(lagWho.map((who) => [who, []]))
    for (let i = 0; i < 3; i++) for (const who of lagWho) lagRuns[who].push(child(["lag", who, String(port)]))
    const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    const lags = Object.fromEntries(lagWho.map((who) => [who, Object.fromEntries(Object.keys(lagRuns[who][0]).map((k) => [k, mid(lagRuns[who].map((l) => l[k]))]))]))

    const hole = spawn(process.execPath, [join(here, "black-hole.cjs")], { stdio: ["ignore", "pipe", "inherit"] })
    const holePort = await new Promise((resolve) => hole.stdout.once("data", (line) => resolve(line.toString().trim())))
    const storms = Object.fromEntries(["native", "harness"].map((who) => [who, child(["storm", who, holePort])]))
    hole.kill()

    const f = (x) => (x === undefined ? "-" : Math.round(x.rate).toString())
    const lat = (x) => (x === undefined ? "-" : `${x.p50.toFixed(0)} / ${x.p99.toFixed(0)}`)
    const r = (a, b) => (a === undefined || b === undefined ? "-" : (a.rate / b.rate).toFixed(2) + "x")
    console.log(`connects/s, connect then close (N = ${N}; makeNet ${Math.min(N, 2000)}; median of ${ROUNDS} interleaved rounds)`)
    console.table(rows.map((x) => ({
      row: x.row, native: f(x.native), floor: f(x.floor), "net.connect": f(x["net.connect"]),
      "native+net.Socket": f(x["native+net.Socket"]), "Effect.callback(net)": f(x["Effect.callback(net)"]), makeNet: f(x.makeNet), C: f(x.C),
      "native/C": r(x.native, x.C), "native/net": r(x.native, x["net.connect"]), "native/makeNet": r(x.native, x.makeNet),
      "native/floor": r(x.native, x.floor), "floor/C": r(x.floor, x.C), "(native+net.Socket)/net": r(x["native+net.Socket"], x["net.connect"])
    })))
    console.log("latency p50 / p99, microseconds")
    console.table(rows.map((x) => ({
      row: x.row, native: lat(x.native), floor: lat(x.floor), "net.connect": lat(x["net.connect"]),
      "native+net.Socket": lat(x["native+net.Socket"]), "Effect.callback(net)": lat(x["Effect.callback(net)"]),
      makeNet: lat(x.makeNet), C: lat(x.C)
    })))
    console.log("memory per open connection (5000 held open on unix; bytes, after gc)")
    console.table(Object.entries(memory).map(([who, m]) => ({ who, "RSS/conn": Math.round(m.rss), "heap+external/conn": Math.round(m.heap) })))
    console.log("event-loop delay, 10k connect-then-close started at once (tcp over 8 ports; median of 3 interleaved runs); harness: a no-op started the same way")
    console.table(Object.entries(lags).map(([who, l]) => ({
      who, "per s": Math.round(l.rate), ticks: l.ticks, "lag p50 ms": l.lagP50.toFixed(2), "lag p99 ms": l.lagP99.toFixed(2),
      "lag max ms": l.lagMax.toFixed(2)
    })))
    console.log("storm: 10k connects at once to a black hole in another process, 1 s timeouts; a 1 ms timer's lag; harness: 10k fibers with a 1 s timeout around Effect.never")
    console.table(Object.entries(storms).map(([who, l]) => ({
      who, "took ms": Math.round(l.took), failed: l.failed, "fds back": l.fdsBack, ticks: l.ticks,
      "lag p50 ms": l.lagP50.toFixed(2), "lag p99 ms": l.lagP99.toFixed(2), "lag max ms": l.lagMax.toFixed(2)
    })))
  } finally {
    acceptor.kill()
    rmSync(dir, { recursive: true, force: true })
  }
}

// The clients' rows share the clients' tests' server harness (TypeScript): vite-node runs them.
const clients = () => {
  const root = new URL("../../../", import.meta.url).pathname
  execFileSync(join(root, "node_modules/.bin/vite-node"), ["--config", "vitest.config.ts", "packages/clients/bench/clients.ts"], { cwd: root, stdio: "inherit" })
}

const [mode, who, arg] = process.argv.slice(2)
const rows = process.env.BENCH_ROWS ?? "all"
if (mode === "rss") await rss(who, arg)
else if (mode === "lag") await lag(who, Number(arg))
else if (mode === "storm") await storm(who, Number(arg))
else {
  // BENCH_ROWS=race is packages/core/bench/race.js's alone (npm run bench runs it after this).
  if (rows === "all" || rows === "connect") await main()
  if (rows === "all" || rows === "clients") clients()
}
