// npm run bench: connect-then-close on loopback, sequential and 64 in flight, in one run:
// NativeConnector vs net.connect vs Effect.async(net.connect) vs NodeSocket.makeNet vs C.
// Prints connects/s and ratios: absolute numbers on shared machines are noise, ratios are not.
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { connect as netConnect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Runtime } from "effect"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as Socket from "@effect/platform/Socket"
import { Address, Connector } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"

const here = new URL(".", import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), "ec-bench-"))
const build = (name) => {
  const out = join(dir, name)
  execFileSync("cc", ["-O2", "-pthread", "-o", out, join(here, `${name}.c`)])
  return out
}
const acceptorBin = build("acceptor")
const loopBin = build("connect_loop")
const sock = join(dir, "bench.sock")
const port = 20000 + Math.floor(Math.random() * 20000)
const acceptor = spawn(acceptorBin, [sock, String(port)], { stdio: ["ignore", "pipe", "inherit"] })
await new Promise((resolve) => acceptor.stdout.once("data", resolve))

const N = Number(process.env.BENCH_N ?? 5000)
const runtime = await Effect.runPromise(Layer.toRuntime(NativeConnector.layer).pipe(Effect.scoped))

const nativeOnce = (address) => Effect.scoped(Connector.connect(address))
const netOnce = (opts) => new Promise((resolve, reject) => {
  const s = netConnect(opts, () => { s.destroy(); resolve() })
  s.once("error", reject)
})
const effectNetOnce = (opts) => Effect.async((resume) => {
  const s = netConnect(opts, () => { s.destroy(); resume(Effect.void) })
  s.once("error", (e) => resume(Effect.fail(e)))
})
const makeNetOnce = (opts) => Effect.flatMap(NodeSocket.makeNet(opts), (socket) =>
  socket.runRaw(() => {}, { onOpen: Effect.flatMap(socket.writer, (w) => w(new Socket.CloseEvent())) }).pipe(Effect.scoped, Effect.ignore))

const measure = async (n, inFlight, once) => {
  const start = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) { next++; await once() }
  }))
  return n / ((performance.now() - start) / 1000)
}
// How an app runs effects against a built runtime; Effect.provide per call would rebuild the
// context every time and halve the rate.
const run = Runtime.runPromise(runtime)

const rows = []
for (const [label, address, opts] of [
  ["unix", Address.unix(sock), { path: sock }],
  ["tcp", Address.tcp("127.0.0.1", port), { host: "127.0.0.1", port }]
]) {
  for (const inFlight of [1, 64]) {
    const n = label === "tcp" ? Math.min(N, 3000) : N
    const c = inFlight === 1 ? Number(execFileSync(loopBin, [label, label === "tcp" ? String(port) : sock, String(n)]).toString()) : NaN
    const native = await measure(n, inFlight, () => run(nativeOnce(address)))
    const net = await measure(n, inFlight, () => netOnce(opts))
    const effectNet = await measure(n, inFlight, () => Effect.runPromise(effectNetOnce(opts)))
    const makeNet = await measure(Math.min(n, 2000), inFlight, () => Effect.runPromise(makeNetOnce(opts)))
    rows.push({ row: `${label} x${inFlight}`, native, net, effectNet, makeNet, c })
    await new Promise((r) => setTimeout(r, label === "tcp" ? 2000 : 100))
  }
}
acceptor.kill()
rmSync(dir, { recursive: true, force: true })

const f = (x) => (Number.isFinite(x) ? Math.round(x).toString() : "-")
const r = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? (a / b).toFixed(2) + "x" : "-")
console.log("connects/s (connect then close), N =", N)
console.table(rows.map((x) => ({
  row: x.row, native: f(x.native), "net.connect": f(x.net), "Effect.async(net)": f(x.effectNet), makeNet: f(x.makeNet), C: f(x.c),
  "native/C": r(x.native, x.c), "native/net": r(x.native, x.net), "native/makeNet": r(x.native, x.makeNet)
})))
