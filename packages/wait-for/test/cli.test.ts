// The CLI as a process: exit codes, messages on bad input, targets of each kind, the command.
import { existsSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { abstractListener, close, events, listen, run, start, tempDir, until, useCli, useTargets } from "./support.js"

const cli = useCli()
const ports = useTargets()

describe.concurrent("usage errors exit 2 with a message that says what was wrong", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, string]> = [
    ["no arguments", [], "wait-for: no targets given"],
    ["an unknown option", ["--nope", "tcp://127.0.0.1:1"], "wait-for: unknown option --nope (see --help)"],
    ["an unknown short option", ["-x", "tcp://127.0.0.1:1"], "wait-for: unknown option -x (see --help)"],
    ["a duration without a number", ["--timeout", "soon", "tcp://127.0.0.1:1"], `wait-for: --timeout: "soon" is not a duration: write it like 30s, 1.5s, 500ms or 2m`],
    ["an unknown unit", ["-t", "3 weeks", "tcp://127.0.0.1:1"], `wait-for: --timeout: "3 weeks" is not a duration`],
    ["an option without its value", ["tcp://127.0.0.1:1", "--timeout"], "wait-for: --timeout needs a duration"],
    ["an option followed by another", ["--timeout", "--json", "tcp://127.0.0.1:1"], "wait-for: --timeout needs a duration"],
    ["a value for a flag", ["--json=yes", "tcp://127.0.0.1:1"], "wait-for: --json takes no value"],
    ["a zero interval", ["--interval", "0", "tcp://127.0.0.1:1"], "wait-for: --interval: must be longer than 0"],
    ["a bad attempt count", ["--max-attempts", "0", "tcp://127.0.0.1:1"], `wait-for: --max-attempts: "0" is not a whole number of at least 1`],
    ["a bad status", ["--status", "2xx", "http://127.0.0.1:1/"], `wait-for: --status: "2xx" is not a status code or range`],
    ["a port out of range", ["tcp://127.0.0.1:70000"], "wait-for: tcp://127.0.0.1:70000: port "],
    ["a missing port", ["localhost"], "wait-for: localhost: port is missing"],
    ["an IPv6 address without brackets", ["::1:80"], "wait-for: ::1:80: host an IPv6 address must be in brackets"],
    ["a scheme that is not a target", ["postgres://db:5432"], "wait-for: postgres://db:5432: postgres:// is not a target: use tcp://host:port"],
    ["a unix URL with a host", ["unix://run/app.sock"], "wait-for: unix://run/app.sock: host run is not this machine"],
    ["a relative unix path", ["unix:app.sock"], "wait-for: unix:app.sock: path "],
    ["a bad URL", ["http://[::1/"], "wait-for: http://[::1/: not a valid URL"],
    ["-- without a command", ["tcp://127.0.0.1:1", "--"], "wait-for: -- must be followed by a command"],
    ["--demo with targets", ["--demo", "tcp://127.0.0.1:1"], "wait-for: --demo starts its own listeners and takes no targets"]
  ]
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const r = await run(cli.path, args)
      expect(r.code).toBe(2)
      expect(r.stderr.startsWith(message), r.stderr).toBe(true)
      expect(r.stdout).toBe("")
    })
  }
})

describe("help and version", () => {
  it("--help: stdout, exit 0, no ANSI when stdout is not a terminal; names the default timeout, the demo and the exit codes", async () => {
    const r = await run(cli.path, ["--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain("\x1b[")
    expect(r.stdout).toContain("(default 30s; 0: no limit)")
    expect(r.stdout).toContain("--demo")
    expect(r.stdout).toMatch(/Exit codes\n  0 +every target is up/)
    expect(r.stdout).toContain("130  interrupted by SIGINT, 143 by SIGTERM")
  })
  it("-V", async () => {
    expect(await run(cli.path, ["-V"])).toMatchObject({ code: 0, stdout: "wait-for 0.2.0\n" })
  })
})

describe("waiting", () => {
  it("exit 0 when every target is up: tcp://, host:port (a name from /etc/hosts), a duration with a fraction", async () => {
    const r = await run(cli.path, ["--timeout", "1.5", `tcp://127.0.0.1:${ports.up}`, `localhost:${ports.up}`])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(new RegExp(`^up    tcp://127\\.0\\.0\\.1:${ports.up}  in \\d+ms, 1 attempt$`, "m"))
    expect(r.stderr).toMatch(new RegExp(`^up    localhost:${ports.up}  in \\d+ms, [12] attempts? \\(tcp://127\\.0\\.0\\.1:${ports.up}\\)$`, "m"))
  })

  it("a refused port after --timeout 1s: exit 1, the summary names ECONNREFUSED and the attempts it counted", async () => {
    const r = await run(cli.path, ["--timeout", "1s", `tcp://127.0.0.1:${ports.refused}`])
    expect(r.code).toBe(1)
    const attempts = r.stderr.match(/^wait  .* attempt \d+: ConnectionRefused ECONNREFUSED/gm)?.length ?? 0
    expect(attempts).toBeGreaterThanOrEqual(4)
    const summary = r.stderr.split("\n").filter((l) => l.startsWith("fail  "))
    expect(summary).toEqual([
      expect.stringMatching(new RegExp(
        `^fail  tcp://127\\.0\\.0\\.1:${ports.refused}  timed out after 1(\\.\\d)?s, ${attempts} attempts; last attempt: ConnectionRefused ECONNREFUSED$`
      ))
    ])
    // The last attempt's own error, as Policy.deadline keeps it: with the attempts it took.
    expect(r.stderr).toContain(
      `      connect tcp://127.0.0.1:${ports.refused} failed with ECONNREFUSED after ${attempts} attempts: the peer refused the connection (nothing is listening on that port)\n`
    )
  })

  it("a missing unix directory: exit 1, the diagnosis names the directory", async () => {
    const t = tempDir()
    try {
      const path = join(t.dir, "missing", "app.sock")
      const r = await run(cli.path, ["-t", "500ms", `unix://${path}`])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`^fail  unix://${path}  timed out after \\d+ms, \\d+ attempts; last attempt: NotFound ENOENT at ${join(t.dir, "missing")} \\(missing-directory\\)$`, "m"))
      expect(r.stderr).toMatch(new RegExp(`^      connect unix://${path} failed with ENOENT after \\d+ attempts: ${join(t.dir, "missing")}: this directory does not exist$`, "m"))
    } finally {
      t.remove()
    }
  })

  it.skipIf(process.platform !== "linux")("a unix socket and an abstract name (abstract: Linux only): exit 0", async () => {
    const t = tempDir()
    const name = `wait-for-test-${process.pid}`
    const servers = [createServer((s) => s.end())]
    const named = abstractListener(name)
    try {
      await new Promise<void>((r) => servers[0]!.listen(join(t.dir, "app.sock"), r))
      const r = await run(cli.path, [`unix://${join(t.dir, "app.sock")}`, `unix-abstract:${name}`])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain(`up    unix-abstract:${name}  in `)
    } finally {
      named.close()
      await Promise.all(servers.map(close))
      t.remove()
    }
  })

  it("--max-attempts: the attempts are spent, exit 1, the last error as it was", async () => {
    const r = await run(cli.path, ["--max-attempts", "3", "--json", `tcp://127.0.0.1:${ports.refused}`])
    expect(r.code).toBe(1)
    const result = events(r.stdout).find((e) => e.event === "result")
    expect(result).toMatchObject({ status: "failed", attempts: 3, error: { tag: "ConnectionRefused", errno: "ECONNREFUSED", transient: true } })
  })
})

describe("--quiet", () => {
  it("prints nothing when all are up, and only the reason when a target fails", async () => {
    expect(await run(cli.path, ["-q", `tcp://127.0.0.1:${ports.up}`])).toMatchObject({ code: 0, stdout: "", stderr: "" })
    const r = await run(cli.path, ["-q", "-t", "300ms", `tcp://127.0.0.1:${ports.up}`, `tcp://127.0.0.1:${ports.refused}`])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(new RegExp(`^fail  tcp://127\\.0\\.0\\.1:${ports.refused}  timed out after \\d+ms, \\d+ attempts; last attempt: ConnectionRefused ECONNREFUSED\\n      connect tcp://127\\.0\\.0\\.1:${ports.refused} failed with ECONNREFUSED [^\\n]*\\n$`))
  })
})

describe("-- command", () => {
  it("runs once all are up and exits with its code", async () => {
    const r = await run(cli.path, [`tcp://127.0.0.1:${ports.up}`, "--", "sh", "-c", "exit 7"])
    expect(r.code).toBe(7)
  })
  it("passes its arguments as they are, and its stdout is ours", async () => {
    const r = await run(cli.path, [`127.0.0.1:${ports.up}`, "--", "printf", "%s|", "a b", "--json", "-t"])
    expect(r).toMatchObject({ code: 0, stdout: "a b|--json|-t|" })
  })
  it("is not run when a target fails", async () => {
    const t = tempDir()
    try {
      const r = await run(cli.path, ["-t", "300ms", `tcp://127.0.0.1:${ports.refused}`, "--", "touch", join(t.dir, "ran")])
      expect(r.code).toBe(1)
      expect(existsSync(join(t.dir, "ran"))).toBe(false)
    } finally {
      t.remove()
    }
  })
  it("a command that cannot be run: 126", async () => {
    const t = tempDir()
    try {
      const { writeFileSync } = await import("node:fs")
      writeFileSync(join(t.dir, "not-executable"), "#!/bin/sh\n", { mode: 0o644 })
      const r = await run(cli.path, [`tcp://127.0.0.1:${ports.up}`, "--", join(t.dir, "not-executable")])
      expect(r.code).toBe(126)
      expect(r.stderr).toContain(`wait-for: ${join(t.dir, "not-executable")}: spawn ${join(t.dir, "not-executable")} EACCES`)
    } finally {
      t.remove()
    }
  })
  it("a command that does not exist: 127", async () => {
    const r = await run(cli.path, [`tcp://127.0.0.1:${ports.up}`, "--", "/nonexistent/command"])
    expect(r.code).toBe(127)
    expect(r.stderr).toContain("wait-for: /nonexistent/command: command not found")
  })
})

describe("--reverse", () => {
  it("waits until a listener has gone: exit 0, the attempt that found it down", async () => {
    const leaving = await listen()
    const waiting = start(cli.path, ["--reverse", "-t", "5s", `tcp://127.0.0.1:${leaving.port}`])
    await until(() => waiting.output().stderr.includes("still up"))
    leaving.close()
    const r = await waiting.done
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/attempt 1: still up \(tcp:\/\/127\.0\.0\.1:\d+\), retry in \d+ms/)
    expect(r.stderr).toMatch(new RegExp(`^down  tcp://127\\.0\\.0\\.1:${leaving.port}  after \\d+ms, \\d+ attempts: ConnectionRefused ECONNREFUSED$`, "m"))
  })
  it("a target that stays up: exit 1 after the timeout, StillUp", async () => {
    const r = await run(cli.path, ["--reverse", "--json", "-t", "300ms", `tcp://127.0.0.1:${ports.up}`])
    expect(r.code).toBe(1)
    const result = events(r.stdout).find((e) => e.event === "result")
    expect(result).toMatchObject({ status: "timed-out", error: { tag: "TimedOut", source: "deadline", cause: { tag: "StillUp" } } })
  })
})

describe("permanent errors", () => {
  it("a regular file where the socket should be: given up at once, exit 1, the diagnosis", async () => {
    const t = tempDir()
    try {
      const { writeFileSync } = await import("node:fs")
      const path = join(t.dir, "file")
      writeFileSync(path, "")
      const r = await run(cli.path, ["-t", "10s", `unix://${path}`])
      expect(r.code).toBe(1)
      expect(r.stderr.split("\n").filter((l) => l.startsWith("fail  ") || l.startsWith("      "))).toEqual([
        expect.stringMatching(new RegExp(`^fail  unix://${path}  ConnectionRefused ECONNREFUSED at ${path} \\(not-a-socket\\) \\(permanent\\) after \\d+ms, 1 attempt$`)),
        `      connect unix://${path} failed with ECONNREFUSED: ${path}: a regular file or a directory, not a socket: no server can listen here until it is removed`
      ])
    } finally {
      t.remove()
    }
  })
})

describe("fail fast", () => {
  it("a permanent error stops the others: cancelled, exit 1 long before the timeout", async () => {
    const t = tempDir()
    try {
      // A regular file where the socket should be, then its parent used as a directory: ENOTDIR.
      const { writeFileSync } = await import("node:fs")
      writeFileSync(join(t.dir, "file"), "")
      const r = await run(cli.path, ["--json", "-t", "10s", `unix://${join(t.dir, "file", "x.sock")}`, `tcp://127.0.0.1:${ports.refused}`])
      expect(r.code).toBe(1)
      expect(r.ms).toBeLessThan(5000)
      const results = events(r.stdout).filter((e) => e.event === "result")
      expect(results).toEqual([
        expect.objectContaining({
          status: "failed",
          attempts: 1,
          error: expect.objectContaining({ tag: "NotADirectory", errno: "ENOTDIR", transient: false, diagnosis: { component: join(t.dir, "file"), problem: "not-a-directory" } })
        }),
        expect.objectContaining({ target: `tcp://127.0.0.1:${ports.refused}`, status: "cancelled" })
      ])
    } finally {
      t.remove()
    }
  })
})
