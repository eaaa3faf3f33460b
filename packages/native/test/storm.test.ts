/**
 * A storm, fairly: 10k connects at once to a black hole held by a peer process (a listener with
 * backlog 0 that never accepts, its queue already full, so every SYN is dropped), each with a
 * 1 s timeout. All fail `TimedOut` from our deadline and the fd count comes back exactly. The
 * event-loop lag of the same storm is a bench row (`npm run bench`, "storm"), not an assertion
 * here: on a shared 2-core machine the harness alone (10k root fibers with a timeout each and no
 * connect) lags a timer by hundreds of milliseconds.
 */
import { Address, Connector } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NativeConnector } from "@effect-connect/native"
import { fdCount } from "./support.js"

// The black hole (bench/black-hole.cjs, shared with the bench) in its own process.
const blackHoleScript = fileURLToPath(new URL("../bench/black-hole.cjs", import.meta.url))

const blackHole = Effect.acquireRelease(
  Effect.callback<{ readonly kill: () => void; readonly port: number }>((resume) => {
    const child = spawn(process.execPath, [blackHoleScript], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout.once("data", (line: Buffer) => resume(Effect.succeed({ kill: () => child.kill(), port: Number(line.toString()) })))
  }),
  (peer) => Effect.sync(() => peer.kill())
)

describe("storm", () => {
  it.live("10k connects to a black hole in a peer process, 1 s timeouts: all TimedOut by our deadline, every fd closed", () =>
    Effect.gen(function*() {
      const { port } = yield* blackHole
      const to = Address.tcp("127.0.0.1", port)
      const before = fdCount()
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 10_000 }),
        () =>
          Effect.scoped(Connector.connect(to, { timeout: "1 second" })).pipe(
            Effect.match({ onFailure: (e) => `${e._tag}:${"source" in e ? e.source : JSON.stringify(e)}`, onSuccess: () => "connected" })
          ),
        { concurrency: "unbounded" }
      )
      const tally: Record<string, number> = {}
      for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1
      expect(tally).toEqual({ "TimedOut:deadline": 10_000 })
      expect(fdCount()).toBe(before)
    }).pipe(Effect.provide(NativeConnector.layer)), 120_000)
})
