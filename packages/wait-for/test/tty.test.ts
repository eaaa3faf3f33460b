// On a terminal (a pseudo-terminal from script(1)): one live line per target, redrawn in place,
// then the summaries; NO_COLOR (or no terminal) means no ANSI at all.
import { execFileSync, spawn } from "node:child_process"
import { describe, expect, it } from "vitest"
import { env, useCli, useTargets } from "./support.js"

const hasScript = (() => {
  try {
    execFileSync("script", ["-qfec", "true", "/dev/null"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const cli = useCli()
const ports = useTargets()

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const onTerminal = (args: ReadonlyArray<string>, extra: Record<string, string> = {}) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const command = [process.execPath, cli.path, ...args].map(quote).join(" ")
    const child = spawn("script", ["-qfec", `stty cols 120 2>/dev/null; ${command}`, "/dev/null"], {
      env: env({ TERM: "xterm", ...extra }),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    child.on("close", (code) => {
      clearTimeout(killer)
      resolve({ code, output })
    })
  })

describe.skipIf(!hasScript)("on a pseudo-terminal (script -qfec)", () => {
  it("a live line per target, redrawn in place, then each target's summary in colour", async () => {
    const { code, output } = await onTerminal(["-t", "800ms", `tcp://127.0.0.1:${ports.up}`, `tcp://127.0.0.1:${ports.refused}`])
    expect(code).toBe(1)
    // Two rows drawn, then redrawn in place: cursor up two rows and clear to the end.
    expect(output).toContain("\x1b[2A\x1b[J")
    expect(output).toMatch(new RegExp(`\\x1b\\[33mwait\\x1b\\[0m  tcp://127\\.0\\.0\\.1:${ports.refused}  attempt \\d+: ConnectionRefused ECONNREFUSED\\x1b\\[2m, retry in \\d+ms`))
    expect(output).toContain(`\x1b[32mup\x1b[0m    tcp://127.0.0.1:${ports.up}  in `)
    expect(output).toMatch(new RegExp(`\\x1b\\[31mfail\\x1b\\[0m  tcp://127\\.0\\.0\\.1:${ports.refused}  timed out after \\d+ms, \\d+ attempts; last attempt: ConnectionRefused ECONNREFUSED\\r?\\n`))
  })

  it("NO_COLOR: no ANSI at all, one line per attempt; --help too", async () => {
    const run = await onTerminal(["-t", "300ms", `tcp://127.0.0.1:${ports.refused}`], { NO_COLOR: "1" })
    expect(run.code).toBe(1)
    expect(run.output).not.toContain("\x1b")
    expect(run.output).toMatch(/^wait  tcp:\/\/127\.0\.0\.1:\d+  attempt 1: ConnectionRefused ECONNREFUSED, retry in \d+ms\r?$/m)
    const help = await onTerminal(["--help"], { NO_COLOR: "1" })
    expect(help.code).toBe(0)
    expect(help.output).not.toContain("\x1b")
    const coloured = await onTerminal(["--help"])
    expect(coloured.output).toContain("\x1b[1mUsage\x1b[0m")
  })
})
