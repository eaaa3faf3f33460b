// SIGINT and SIGTERM: while waiting they end the wait with 130 / 143 and a line naming the
// targets still pending; while the command runs they are passed on to it.
import { describe, expect, it } from "vitest"
import { events, start, until, useCli, useTargets } from "./support.js"

const cli = useCli()
const ports = useTargets()

describe("a signal while waiting", () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal}: exit ${code}, the pending targets named, the command not run`, async () => {
      const target = `tcp://127.0.0.1:${ports.refused}`
      const waiting = start(cli.path, ["-t", "20s", target, `tcp://127.0.0.1:${ports.up}`, "--", "sh", "-c", "echo ran"])
      await until(() => waiting.output().stderr.includes("attempt 2:"))
      waiting.child.kill(signal)
      const r = await waiting.done
      expect(r.code).toBe(code)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(new RegExp(`^wait-for: ${signal} after \\d+(ms|\\.\\d+s|s); still pending: ${target}$`, "m"))
      expect(r.stderr).toContain(`up    tcp://127.0.0.1:${ports.up}`)
    })
  }

  it("--json: a summary event that says so", async () => {
    const target = `tcp://127.0.0.1:${ports.refused}`
    const waiting = start(cli.path, ["--json", target])
    await until(() => waiting.output().stdout.includes(`"event":"retry"`))
    waiting.child.kill("SIGTERM")
    const r = await waiting.done
    expect(r.code).toBe(143)
    expect(events(r.stdout).at(-1)).toMatchObject({ event: "summary", status: "interrupted", exitCode: 143, signal: "SIGTERM", pending: [target] })
  })
})

describe("a signal while the command runs", () => {
  it("is passed on to it, and its exit code is ours", async () => {
    const running = start(cli.path, [`tcp://127.0.0.1:${ports.up}`, "--", "sh", "-c", "trap 'echo got TERM; exit 42' TERM; echo started; while :; do sleep 0.05; done"])
    await until(() => running.output().stdout.includes("started"))
    running.child.kill("SIGTERM")
    const r = await running.done
    expect(r.code).toBe(42)
    expect(r.stdout).toBe("started\ngot TERM\n")
  })

  it("a command ended by the signal: 128 + its number", async () => {
    const running = start(cli.path, [`tcp://127.0.0.1:${ports.up}`, "--", "sh", "-c", "echo started; exec sleep 10"])
    await until(() => running.output().stdout.includes("started"))
    running.child.kill("SIGINT")
    const r = await running.done
    expect(r.code).toBe(130)
  })
})
