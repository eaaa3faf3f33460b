// The wait in-process, where a test needs a resolver of its own (no DNS query leaves this machine),
// and the parsing of durations.
import { ConnectError, Resolver } from "@effect-connect/core"
import { NodeConnector } from "@effect-connect/native"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Cli from "../src/Cli.js"
import type * as Event from "../src/Event.js"
import * as Run from "../src/Run.js"
import { close, listen } from "./support.js"

let up: Awaited<ReturnType<typeof listen>>
beforeAll(async () => {
  up = await listen()
})
afterAll(() => close(up))

// A resolver that knows `db.test` only once `registered` is set: a service whose name appears
// when it starts, as in compose or Kubernetes.
let registered = false
const resolver = Layer.succeed(Resolver.Resolver, {
  resolve: (host) =>
    Effect.suspend(() =>
      host === "db.test" && registered
        ? Effect.succeed([{ address: "127.0.0.1", family: 4 }] as const)
        : Effect.fail(new ConnectError.HostNotFound({ host }))
    )
})
const layer = Layer.provide(NodeConnector.layerWithoutResolver, resolver)

const collect = () => {
  const lines: Array<Event.Event> = []
  const io: Run.Io = { stdout: { write: (s: string) => lines.push(JSON.parse(s)) }, stderr: { write: () => true }, env: {} }
  return { io, lines }
}

describe("--wait-dns", () => {
  it("without it, an unknown host fails at once: HostNotFound, permanent", async () => {
    registered = false
    const { io, lines } = collect()
    const outcome = await Run.wait(Cli.parse(["--json", `db.test:${up.port}`]) as Cli.Config, io, layer)
    expect(outcome.exitCode).toBe(1)
    expect(outcome.results).toEqual([
      expect.objectContaining({ status: "failed", attempts: 1, error: expect.objectContaining({ tag: "HostNotFound", transient: false }) })
    ])
    expect(lines.filter((e) => e.event === "retry")).toEqual([])
  })

  it("with it, the name is retried until it resolves", async () => {
    registered = false
    setTimeout(() => (registered = true), 300)
    const { io, lines } = collect()
    const outcome = await Run.wait(Cli.parse(["--json", "--wait-dns", `db.test:${up.port}`]) as Cli.Config, io, layer)
    expect(outcome.exitCode).toBe(0)
    const attempts = lines.filter((e): e is Event.Attempt => e.event === "attempt")
    expect(attempts.length).toBeGreaterThan(1)
    expect(attempts[0]).toMatchObject({ outcome: "down", error: { tag: "HostNotFound", message: "host db.test not found" } })
    expect(attempts.at(-1)).toMatchObject({ outcome: "up", remote: `tcp://127.0.0.1:${up.port}` })
  })
})

describe("durations as people write them", () => {
  it.each([
    ["30s", 30_000], ["1.5s", 1500], ["500ms", 500], ["2m", 120_000], ["1m30s", 90_000], ["1h", 3_600_000], ["2", 2000],
    ["1.5", 1500], ["0", 0], ["250 ms", 250]
  ] as const)("%s is %d ms", (text, ms) => expect(Cli.parseDuration(text)).toBe(ms))
  it.each(["", "s", "1.5.2s", "-1s", "1 week", "1e3", "30 s garbage"])("%j is not a duration", (text) =>
    expect(Cli.parseDuration(text)).toBeUndefined())
  it("formatted back", () => {
    expect([250, 1000, 1500, 12_345, 60_000, 90_000].map(Cli.formatDuration)).toEqual(["250ms", "1s", "1.5s", "12s", "1m", "1m30s"])
  })
})
