/**
 * 100k connects against the real kernel, with random timeouts and interruptions at every stage
 * (before the turn, during the synchronous step, while a connect is in progress), and the
 * process's fd count afterwards. The peers run in a child process so that only our own fds are
 * counted.
 */
import { Address, Connector } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { NativeConnector } from "@effect-connect/native"
import { fdCount, ownPort, tempDir } from "./support.js"

// Accepts and closes on a unix path and four TCP ports; prints the ports when ready.
const peerScript = `
const net = require("node:net")
const path = process.argv[1]
const servers = [net.createServer((s) => s.destroy()).listen({ path, backlog: 4096 })]
for (let i = 0; i < 4; i++) servers.push(net.createServer((s) => s.destroy()).listen({ port: 0, host: "127.0.0.1", backlog: 4096 }))
Promise.all(servers.map((s) => new Promise((r) => s.listening ? r() : s.once("listening", r))))
  .then(() => console.log(JSON.stringify(servers.slice(1).map((s) => s.address().port))))
`

const peer = (path: string) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly kill: () => void; readonly ports: ReadonlyArray<number> }>((resume) => {
      const child = spawn(process.execPath, ["-e", peerScript, path], { stdio: ["ignore", "pipe", "inherit"] })
      child.stdout.once("data", (line: Buffer) => resume(Effect.succeed({ kill: () => child.kill(), ports: JSON.parse(line.toString()) })))
    }),
    (p) => Effect.sync(() => p.kill())
  )

// mulberry32: the same sequence on every run, so a failure can be replayed.
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("reliability", () => {
  it.live("100k connects with random timeouts and interruptions leave the fd count unchanged", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "peer.sock")
      const { ports } = yield* peer(path)
      const hole = yield* ownPort("stuck")
      const closed = yield* ownPort("refusing")
      const targets = {
        unix: Address.unix(path),
        tcp: (i: number) => Address.tcp("127.0.0.1", ports[i % ports.length]!),
        refused: Address.tcp("127.0.0.1", closed),
        hang: Address.tcp("127.0.0.1", hole)
      }
      const rnd = random(20261124)
      const outcomes = new Map<string, number>()
      const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
      const before = fdCount()

      yield* Effect.forEach(Array.from({ length: 100_000 }, (_, i) => i), (i) => {
        const r = rnd()
        const [target, address] = r < 0.55
          ? ["unix", targets.unix] as const
          : r < 0.75
          ? ["tcp", targets.tcp(i)] as const
          : r < 0.9
          ? ["refused", targets.refused] as const
          : ["hang", targets.hang] as const
        const how = rnd()
        // A hanging connect always has a deadline; others get one a third of the time.
        const timeout = target === "hang" || how < 0.33 ? { timeout: `${Math.floor(rnd() * 3)} millis` as const } : {}
        const connect = Effect.scoped(Connector.connect(address, timeout))
        // Another third is interrupted from outside: at once, after a yield, or after a moment.
        const run = how >= 0.33 && how < 0.66
          ? Effect.flatMap(Effect.forkChild(connect), (fiber) => {
            const wait = rnd()
            return Effect.andThen(
              wait < 0.33 ? Effect.void : wait < 0.66 ? Effect.yieldNow : Effect.sleep("1 millis"),
              Effect.andThen(Fiber.interrupt(fiber), Fiber.await(fiber))
            )
          })
          : Effect.exit(connect)
        return Effect.map(run, (exit) => {
          if (Exit.isSuccess(exit)) return count(`${target}:ok`)
          if (Cause.hasInterruptsOnly(exit.cause)) return count(`${target}:interrupted`)
          const failure = Cause.findErrorOption(exit.cause)
          return count(failure._tag === "Some" ? `${target}:${failure.value._tag}` : `${target}:defect`)
        })
      }, { concurrency: 64, discard: true })

      // The peers close their ends when they read our FIN; our count is ours alone.
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => fdCount() <= before, times: 100 }))
      expect(fdCount()).toBe(before)
      const seen = Object.fromEntries([...outcomes].sort())
      const total = [...outcomes.values()].reduce((a, b) => a + b, 0)
      expect(total).toBe(100_000)
      // Only these outcomes, each path exercised.
      const allowed = new Set([
        "unix:ok", "unix:TimedOut", "unix:interrupted", "unix:TryAgain",
        "tcp:ok", "tcp:TimedOut", "tcp:interrupted",
        "refused:ConnectionRefused", "refused:TimedOut", "refused:interrupted",
        // the black hole's accept queue takes one or two before it starts dropping SYNs
        "hang:ok", "hang:TimedOut", "hang:interrupted"
      ])
      expect(Object.keys(seen).filter((k) => !allowed.has(k))).toEqual([])
      for (const k of ["unix:ok", "unix:interrupted", "tcp:ok", "tcp:TimedOut", "refused:ConnectionRefused", "hang:TimedOut", "hang:interrupted"]) {
        expect(seen[k] ?? 0, k).toBeGreaterThan(0)
      }
    }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer)), 120_000)
})
