// npm run soak (not in CI): 1M connect-then-close on a unix socket through NativeConnector, 64 in
// flight, against a listener in its own process (accepts and closes), so that the fds counted
// are ours alone. Prints RSS, heap and the fd count every 100k; any growth that does not level
// off is a leak. SOAK_N overrides the count.
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { Address, Connector } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"

const N = Number(process.env.SOAK_N ?? 1_000_000)
const EVERY = 100_000
const IN_FLIGHT = 64

const dir = mkdtempSync(join(tmpdir(), "ec-soak-"))
const path = join(dir, "soak.sock")
const listener = spawn(process.execPath, ["-e", `
require("node:net").createServer((s) => s.destroy()).listen({ path: process.argv[1], backlog: 4096 }, () => console.log("ready"))
`, path], { stdio: ["ignore", "pipe", "inherit"] })
await new Promise((resolve) => listener.stdout.once("data", resolve))

const services = await Effect.runPromise(Effect.scoped(Layer.build(NativeConnector.layer)))
const run = Effect.runPromiseWith(services)
const fds = () => readdirSync("/proc/self/fd").length
const mib = (bytes) => (bytes / 1048576).toFixed(1)
const report = (done, started) => {
  globalThis.gc?.()
  const m = process.memoryUsage()
  console.log(`${String(done).padStart(8)} connects  ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s  ` +
    `rss ${mib(m.rss).padStart(6)} MiB  heap ${mib(m.heapUsed).padStart(6)} / ${mib(m.heapTotal).padStart(6)} MiB  external ${mib(m.external).padStart(5)} MiB  fds ${fds()}`)
}

const to = Address.unix(path)
const once = Effect.scoped(Connector.connect(to))
let next = 0
const failures = {}
const started = performance.now()
report(0, started)
try {
  // Each worker takes the next connect; the batch ends at each report so the counts are exact.
  for (let mark = EVERY; mark <= N; mark += EVERY) {
    const worker = Effect.suspend(() => {
      if (next >= mark) return Effect.void
      next++
      return Effect.andThen(Effect.catch(once, (e) => Effect.sync(() => failures[e._tag] = (failures[e._tag] ?? 0) + 1)), worker)
    })
    await run(Effect.all(Array.from({ length: IN_FLIGHT }, () => worker), { concurrency: "unbounded", discard: true }))
    report(mark, started)
  }
  // A listener slower than 64 connects in flight fills its backlog: Linux says EAGAIN (TryAgain).
  console.log(`failures by tag: ${JSON.stringify(failures)}`)
} finally {
  listener.kill()
  rmSync(dir, { recursive: true, force: true })
}
