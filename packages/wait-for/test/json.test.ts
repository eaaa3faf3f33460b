// --json: every line of stdout is one event of the documented schema, in order.
import { Schema } from "effect"
import { join } from "node:path"
import { expect, it } from "vitest"
import { Event } from "../src/Event.js"
import { run, tempDir, useCli, useTargets } from "./support.js"

const cli = useCli()
const ports = useTargets()

it("each line decodes as an Event; start first, a result per target, the summary last", async () => {
  const t = tempDir()
  try {
    const targets = [`tcp://127.0.0.1:${ports.up}`, `tcp://127.0.0.1:${ports.refused}`, `unix://${join(t.dir, "missing", "x.sock")}`]
    const r = await run(cli.path, ["--json", "-t", "600ms", ...targets])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("")
    const lines = r.stdout.split("\n")
    expect(lines.at(-1)).toBe("")
    const decoded = lines.slice(0, -1).map((line) => Schema.decodeUnknownSync(Event)(JSON.parse(line)))
    expect(decoded[0]).toMatchObject({ event: "start", targets, timeout: 600, reverse: false })
    const results = decoded.filter((e) => e.event === "result")
    expect(results.map((e) => [e.target, e.status])).toEqual(
      expect.arrayContaining([[targets[0], "up"], [targets[1], "timed-out"], [targets[2], "timed-out"]])
    )
    const missing = results.find((e) => e.target === targets[2])!
    expect(missing.error).toMatchObject({
      tag: "TimedOut",
      source: "deadline",
      attempts: missing.attempts,
      cause: { tag: "NotFound", errno: "ENOENT", diagnosis: { component: join(t.dir, "missing"), problem: "missing-directory" } }
    })
    expect(decoded.at(-1)).toMatchObject({
      event: "summary",
      status: "failed",
      exitCode: 1,
      up: [targets[0]],
      failed: expect.arrayContaining([targets[1], targets[2]]),
      pending: []
    })
    // An attempt per retry, plus the last one of each target.
    const attempts = decoded.filter((e) => e.event === "attempt" && e.target === targets[1])
    expect(attempts.map((e) => e.event === "attempt" && e.attempt)).toEqual(attempts.map((_, i) => i + 1))
  } finally {
    t.remove()
  }
})

it("with a command: a command event after the summary, and the command's own output in between", async () => {
  const r = await run(cli.path, ["--json", `127.0.0.1:${ports.up}`, "--", "sh", "-c", "exit 3"])
  expect(r.code).toBe(3)
  const decoded = r.stdout.trim().split("\n").map((line) => Schema.decodeUnknownSync(Event)(JSON.parse(line)))
  expect(decoded.map((e) => e.event)).toEqual(["start", "attempt", "result", "summary", "command"])
  expect(decoded.at(-1)).toMatchObject({ event: "command", argv: ["sh", "-c", "exit 3"], exitCode: 3 })
})
