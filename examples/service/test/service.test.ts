import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { Effect } from "effect"
import { missing, postgres, type Server } from "../../../packages/clients/test/servers.js"
import { main } from "../src/program.js"

// The lines the run prints (Effect's Console writes through console.log and console.error).
let lines: Array<string>
beforeEach(() => {
  lines = []
  for (const method of ["log", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => void lines.push(args.join(" ")))
  }
})
afterEach(() => vi.restoreAllMocks())

const greeted = (output: ReadonlyArray<string>) => output.filter((l) => l.startsWith("hello,"))
const greetings = ["hello, ada (visit 1 of ada)", "hello, grace (visit 1 of grace)", "hello, ada (visit 2 of ada)"]

describe("examples/service", () => {
  it("with no DATABASE_URL: an embedded PostgreSQL (PGlite) listening 1 s late, reached through the retry; the stopped upstream is the service's own error", async () => {
    await Effect.runPromise(main({}))
    expect(lines[0]).toBe("embedded PostgreSQL (PGlite) created; it listens in 1 s")
    expect(lines.filter((l) => /^ {2}connect tcp:\/\/127\.0\.0\.1:\d+: ConnectionRefused$/.test(l)).length).toBeGreaterThan(3)
    expect(greeted(lines)).toEqual(greetings)
    expect(lines.at(-1)).toMatch(/^UpstreamUnavailable: nothing listens at tcp:\/\/127\.0\.0\.1:\d+ \(ConnectionRefused\)$/)
  }, 60_000)

  const why = missing.postgres()
  describe.skipIf(why !== undefined)(`with DATABASE_URL${why === undefined ? "" : ` (skipped: ${why})`}`, () => {
    let server: Server
    afterAll(() => server?.remove())
    it("a private PostgreSQL, up: no refusal, the visits recorded there", async () => {
      server = await postgres()
      await server.start()
      await Effect.runPromise(main({ DATABASE_URL: `postgres://postgres@127.0.0.1:${server.port}/postgres` }))
      expect(lines.some((l) => l.includes("embedded"))).toBe(false)
      expect(greeted(lines)).toEqual(greetings)
      expect(lines.filter((l) => l.startsWith("  connect ")).every((l) => !l.includes(`:${server.port}:`))).toBe(true)
    }, 60_000)

    it("a private PostgreSQL, down: DatabaseUnavailable with our typed reason", async () => {
      await server.stop()
      await Effect.runPromise(main({ DATABASE_URL: `postgres://postgres@127.0.0.1:${server.port}/postgres`, DATABASE_RETRY_FOR: "300 millis" }))
      expect(lines.at(-1)).toBe(`DatabaseUnavailable: nothing listens at tcp://127.0.0.1:${server.port} (ConnectionRefused)`)
    }, 60_000)
  })
})
