// `npm run bench:start`: how long each CLI takes from `node` to one successful connect to a
// loopback port that is already open, in the same run: the bundled wait-for (what the `wait-for`
// bin is), the unbundled tsc output (what `npm start` runs), and wait-on's binary. hyperfine
// measures when it is installed (apt-get install hyperfine); otherwise each command is timed
// here, BENCH_RUNS rounds (default 20) of one run of each, and the median and p90 are printed.
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { bundle } from "../scripts/bundle.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const runs = Number(process.env.BENCH_RUNS ?? 20)
const rel = (p) => relative(process.cwd(), p)

const server = createServer((s) => s.end())
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const port = server.address().port
// The listener lives in this process; the commands run in children, so it must keep accepting.
const commands = []
commands.push([`wait-for (bundle)`, `node ${rel(await bundle())} tcp://127.0.0.1:${port}`])
const unbundled = join(root, "dist", "main.js")
if (existsSync(unbundled)) commands.push([`wait-for (tsc output)`, `node ${rel(unbundled)} tcp://127.0.0.1:${port}`])
const waitOn = createRequire(join(root, "package.json")).resolve("wait-on/bin/wait-on")
commands.push([`wait-on`, `node ${rel(waitOn)} tcp:127.0.0.1:${port}`])

const hyperfine = spawnSync("hyperfine", ["--version"], { encoding: "utf8" }).status === 0
console.log(`start-up to one connect to 127.0.0.1:${port}, ${hyperfine ? "hyperfine" : "timed here"}, ${runs} runs each`)
if (hyperfine) {
  const report = join(tmpdir(), `wait-for-bench-${process.pid}.json`)
  const args = ["-N", "--warmup", "3", "--runs", String(runs), "--style", "basic", "--export-json", report]
  for (const [name, command] of commands) args.push("-n", name, command)
  // Asynchronous, so that this process's listener keeps accepting while hyperfine runs.
  const { spawn } = await import("node:child_process")
  const code = await new Promise((resolve) => spawn("hyperfine", args, { stdio: "inherit" }).on("exit", resolve))
  server.close()
  if (code !== 0) process.exit(code ?? 1)
  for (const r of JSON.parse(readFileSync(report, "utf8")).results) {
    console.log(`${r.command.padEnd(22)} median ${(r.median * 1000).toFixed(0)} ms, mean ${(r.mean * 1000).toFixed(0)} ms`)
  }
  rmSync(report)
  process.exit(0)
}
const { execFile } = await import("node:child_process")
const time = (command) =>
  new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const [file, ...args] = command.split(" ")
    execFile(file, args, (error) => (error ? reject(error) : resolve(Number(process.hrtime.bigint() - started) / 1e6)))
  })
// Rounds of one run of each command, in turn, the order rotated each round: a machine whose load
// changes during the bench slows every command alike.
for (const [, command] of commands) for (let i = 0; i < 3; i++) await time(command)
const samples = commands.map(() => [])
for (let round = 0; round < runs; round++) {
  for (let k = 0; k < commands.length; k++) {
    const i = (k + round) % commands.length
    samples[i].push(await time(commands[i][1]))
  }
}
commands.forEach(([name], i) => {
  const sorted = samples[i].sort((a, b) => a - b)
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(0)
  console.log(`${name.padEnd(22)} median ${at(0.5)} ms, p90 ${at(0.9)} ms`)
})
server.close()
