// Unreachable networks and hosts, from the real kernel inside a network namespace this test
// creates and removes. The connect runs in a child `ip netns exec` process (a process cannot
// move its own threads' sockets into another namespace), over the built dist.
import { execFileSync, spawnSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const ns = `ec-test-${process.pid}`
const canNetns = process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0
const dist = new URL("../dist/index.js", import.meta.url).pathname
const core = new URL("../../core/dist/index.js", import.meta.url).pathname

const child = `
import { Effect } from "effect"
const { Address, Connector } = await import(${JSON.stringify(core)})
const { NativeConnector } = await import(${JSON.stringify(dist)})
const out = {}
for (const [key, address] of [["net", Address.tcp("198.51.100.7", 80)], ["host", Address.tcp("203.0.113.7", 80)], ["net6", Address.tcp("2001:db8::7", 80)]]) {
  out[key] = await Effect.runPromise(Effect.scoped(Effect.flip(Connector.connect(address, { timeout: "3 seconds" }))).pipe(Effect.provide(NativeConnector.layer)))
}
console.log(JSON.stringify(out))
`

describe.skipIf(!canNetns)("inside a network namespace the test made (skipped when not root or no `ip netns`)", () => {
  beforeAll(() => {
    execFileSync("ip", ["netns", "add", ns])
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"])
    execFileSync("ip", ["-n", ns, "route", "add", "unreachable", "203.0.113.0/24"])
  })
  afterAll(() => {
    spawnSync("ip", ["netns", "del", ns])
  })

  it("no route is NetworkUnreachable; an unreachable route is HostUnreachable", () => {
    const result = spawnSync("ip", ["netns", "exec", ns, process.execPath, "--input-type=module", "-e", child], {
      cwd: new URL("..", import.meta.url).pathname,
      encoding: "utf8",
      timeout: 20_000
    })
    expect(result.stderr).toBe("")
    const out = JSON.parse(result.stdout)
    expect(out.net).toMatchObject({
      _tag: "NetworkUnreachable", errno: "ENETUNREACH", code: 101, syscall: "connect",
      address: "tcp://198.51.100.7:80", transient: true
    })
    expect(out.host).toMatchObject({
      _tag: "HostUnreachable", errno: "EHOSTUNREACH", code: 113, syscall: "connect", address: "tcp://203.0.113.7:80"
    })
    expect(out.net6).toMatchObject({ _tag: "NetworkUnreachable", errno: "ENETUNREACH", address: "tcp://[2001:db8::7]:80" })
  })
})
