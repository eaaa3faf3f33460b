/**
 * `wait-for --demo` (and `npm start`): real waits against loopback listeners and a temp directory
 * of its own, each scene a command line read by the CLI's own parser.
 *
 * @since 0.1.0
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer as createHttpServer } from "node:http"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Cli from "./Cli.js"
import type * as Event from "./Event.js"
import * as Render from "./Render.js"
import * as Run from "./Run.js"

const listen = (server: Server, at: number | string) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject)
    server.listen(at as number, ...(typeof at === "number" ? ["127.0.0.1"] : []), () => {
      const address = server.address()
      resolve(typeof address === "object" && address !== null ? address.port : 0)
    })
  })

interface Scene {
  readonly title: string
  readonly argv: ReadonlyArray<string>
  readonly expect: ReadonlyArray<Event.Status>
  readonly before?: () => void
}

/**
 * Runs the scenes; 0 when each ended as it should, 130 or 143 when a signal ended it.
 *
 * @since 0.1.0
 * @category running
 */
export const run = async (io: Run.Io, flags: { readonly json: boolean; readonly quiet: boolean } = { json: false, quiet: false }): Promise<number> => {
  const p = Render.paint(Render.ansi(io.stderr, io.env))
  const dir = mkdtempSync(join(tmpdir(), "wait-for-demo-"))
  const servers: Array<{ close: () => unknown }> = []
  const timers: Array<NodeJS.Timeout> = []
  try {
    const make = () => {
      const server = createServer((socket) => socket.end())
      servers.push(server)
      return server
    }
    // A port nothing listens on: taken from the kernel, then given back.
    const freePort = async () => {
      const probe = createServer()
      const port = await listen(probe, 0)
      await new Promise((resolve) => probe.close(resolve))
      return port
    }
    const late = await freePort()
    const refused = await freePort()
    const sock = join(dir, "app.sock")
    await listen(make(), sock)
    let answered = 0
    const http = createHttpServer((_req, res) => {
      res.statusCode = ++answered <= 2 ? 503 : 200
      res.end(res.statusCode === 200 ? "ok\n" : "starting\n")
    })
    servers.push(http)
    const httpPort = await listen(http as unknown as Server, 0)
    writeFileSync(join(dir, "not-a-socket"), "a regular file\n")
    const leaving = make()
    const leavingPort = await listen(leaving, 0)

    const extra = [...(flags.json ? ["--json"] : []), ...(flags.quiet ? ["--quiet"] : [])]
    const scenes: ReadonlyArray<Scene> = [
      {
        title: "Three targets at once: a port that opens 600 ms late (refused, backoff, up), a unix socket, " +
          "and an http server that answers 503 twice before 200",
        argv: ["--timeout", "5s", `tcp://127.0.0.1:${late}`, `unix://${sock}`, `http://127.0.0.1:${httpPort}/health`],
        expect: ["up", "up", "up"],
        before: () => timers.push(setTimeout(() => void listen(make(), late), 600))
      },
      {
        title: "A deadline says what really happened: the last attempt's error, its diagnosis, the attempts and the time",
        argv: ["--timeout", "1s", `unix://${join(dir, "missing", "app.sock")}`, `tcp://127.0.0.1:${refused}`],
        expect: ["timed-out", "timed-out"]
      },
      {
        title: "A permanent error stops that target at once: a regular file where a socket should be",
        argv: ["--timeout", "5s", `unix://${join(dir, "not-a-socket")}`],
        expect: ["failed"]
      },
      {
        title: "--reverse: wait until a listener has gone (this one closes after 400 ms)",
        argv: ["--reverse", "--timeout", "3s", `tcp://127.0.0.1:${leavingPort}`],
        expect: ["down"],
        before: () => timers.push(setTimeout(() => leaving.close(), 400))
      }
    ]

    io.stderr.write(p.bold("wait-for demo") + p.dim(`: loopback listeners and ${dir}, all made by this process\n`))
    let ok = true
    for (const [i, scene] of scenes.entries()) {
      io.stderr.write(`\n${p.bold(`${i + 1}. ${scene.title}`)}\n${p.dim(`$ wait-for ${scene.argv.join(" ")}`)}\n`)
      const config = Cli.parse([...scene.argv, ...extra]) as Cli.Config
      scene.before?.()
      const outcome = await Run.wait(config, io)
      if (outcome.exitCode in { 130: 1, 143: 1 }) return outcome.exitCode
      const matched = outcome.results.every((r, j) => r.status === scene.expect[j])
      if (!matched) {
        ok = false
        io.stderr.write(p.red(`   not as expected: ${outcome.results.map((r) => r.status).join(", ")}\n`))
      }
      if (i === 1) {
        const deadline = outcome.results.find((r) => r.error?.source === "deadline")?.error
        if (deadline !== undefined) io.stderr.write(p.dim(`   the library's own message: ${deadline.message}\n`))
      }
    }
    io.stderr.write(`\n${ok ? p.green("demo done") : p.red("demo: a scene did not end as expected")}\n`)
    return ok ? 0 : 1
  } finally {
    timers.forEach(clearTimeout)
    servers.forEach((s) => s.close())
    rmSync(dir, { recursive: true, force: true })
  }
}
