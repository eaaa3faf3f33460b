// http targets: a GET over our connect (so a refused connect is our typed error), 2xx/3xx up,
// --status for others.
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { close, events, refusingPort, run, useCli } from "./support.js"

const cli = useCli()
let server: Server
let port = 0
let answers: Array<number> = []
let refused: Awaited<ReturnType<typeof refusingPort>>
beforeAll(async () => {
  server = createServer((req, res) => {
    res.statusCode = req.url === "/moved" ? 302 : req.url === "/teapot" ? 418 : (answers.shift() ?? 200)
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as { port: number }).port
  refused = await refusingPort()
})
afterAll(async () => {
  await close(server as never)
  await refused.release()
})

describe("http targets", () => {
  it("503 then 200: retried, up on the 200", async () => {
    answers = [503, 503]
    const url = `http://127.0.0.1:${port}/health`
    const r = await run(cli.path, ["--json", url])
    expect(r.code, r.stderr).toBe(0)
    const attempts = events(r.stdout).filter((e) => e.event === "attempt")
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "down", error: expect.objectContaining({ tag: "HttpStatus", status: 503, transient: true }) }),
      expect.objectContaining({ attempt: 2, outcome: "down", error: expect.objectContaining({ tag: "HttpStatus", status: 503 }) }),
      expect.objectContaining({ attempt: 3, outcome: "up", httpStatus: 200 })
    ])
    expect(events(r.stdout).find((e) => e.event === "result")).toMatchObject({ status: "up", attempts: 3, httpStatus: 200 })
  })

  it("3xx is up; 418 is not, unless --status says so", async () => {
    expect((await run(cli.path, [`http://127.0.0.1:${port}/moved`])).code).toBe(0)
    const teapot = `http://127.0.0.1:${port}/teapot`
    const no = await run(cli.path, ["-t", "300ms", teapot])
    expect(no.code).toBe(1)
    expect(no.stderr).toContain(`last attempt: HttpStatus 418`)
    expect(no.stderr).toContain(`GET ${teapot} answered 418, not one of the statuses that count as up`)
    expect((await run(cli.path, ["--status", "200-299,418", teapot])).code).toBe(0)
  })

  it("a refused connect is the library's typed error, through undici", async () => {
    const r = await run(cli.path, ["--json", "--max-attempts", "2", `http://127.0.0.1:${refused.port}/`])
    expect(r.code).toBe(1)
    expect(events(r.stdout).find((e) => e.event === "result")).toMatchObject({
      status: "failed",
      attempts: 2,
      error: { tag: "ConnectionRefused", errno: "ECONNREFUSED", syscall: "connect", address: `tcp://127.0.0.1:${refused.port}` }
    })
  })
})
