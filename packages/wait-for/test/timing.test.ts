// The default schedule notices a port within 250 ms of it opening.
import { afterAll, expect, it } from "vitest"
import { close, events, listen, start, until, useCli } from "./support.js"
import { createServer, type Server } from "node:net"

const cli = useCli()
const servers: Array<Server> = []
afterAll(() => Promise.all(servers.map(close)))

it("a port that opens 1 s after the first attempt is up within 250 ms of opening; no wait between attempts is longer than 250 ms", async () => {
  // A port taken from the kernel and given back: nothing else on loopback takes it within a second.
  const probe = await listen()
  const port = probe.port
  await close(probe)
  const waiting = start(cli.path, ["--json", `tcp://127.0.0.1:${port}`])
  await until(() => waiting.output().stdout.includes(`"event":"attempt"`))
  await new Promise((r) => setTimeout(r, 1000))
  const server = createServer((s) => s.end())
  servers.push(server)
  const opened = await new Promise<number>((resolve) => server.listen(port, "127.0.0.1", () => resolve(Date.now())))
  const r = await waiting.done
  expect(r.code, r.stderr).toBe(0)
  const all = events(r.stdout)
  const retries = all.filter((e) => e.event === "retry").map((e) => e.in as number)
  expect(retries.length).toBeGreaterThanOrEqual(5)
  expect(Math.max(...retries)).toBeLessThanOrEqual(250)
  const result = all.find((e) => e.event === "result")!
  expect(result).toMatchObject({ status: "up" })
  // The schedule's bound is 250 ms; the rest is this loaded machine's scheduling of two processes.
  expect((result.time as number) - opened).toBeLessThan(250 + 100)
})
