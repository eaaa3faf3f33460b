// A connect in a child process over the built dist, for what this process cannot do to itself:
// connect inside a network namespace (`ip netns exec`: a process cannot move its own threads'
// sockets into another namespace) or under a lowered limit (`prlimit`). Also the namespaces
// themselves, named for this process and removed by the test's afterAll.
import { execFileSync, spawnSync } from "node:child_process"
import { expect } from "vitest"

const dist = new URL("../dist/index.js", import.meta.url).pathname
const core = new URL("../../core/dist/index.js", import.meta.url).pathname

/** Root with `ip netns`: the namespaced tests can run. */
export const canNetns = process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0

/**
 * The connectors a recipe runs through: `NodeConnector` is `NativeConnector.layer` in a child
 * whose addon is kept from loading (`EFFECT_CONNECT_NATIVE=0`), so the fallback itself is what
 * is tested. There, `withDatagrams` is false in the body: datagrams need the addon.
 */
export const connectors = ["NativeConnector", "NodeConnector"] as const

/**
 * Runs `body` as an ES module in a child, with `Effect`, core's `Address` and `Connector`, and
 * native's `Addon`, `Datagram`, `NativeConnector` and `Raw` in scope, `withDatagrams`, and `flip(effect)`:
 * the effect's failure, with its message, as a plain object. The body fills `out`, which comes
 * back parsed. `wrap` is a command line the child runs under (e.g. `prlimit --nofile=256:256`);
 * `via` the connector (see {@link connectors}; NativeConnector by default).
 */
export const runChild = (
  body: string,
  options: {
    readonly netns?: string
    readonly wrap?: ReadonlyArray<string>
    readonly timeout?: number
    readonly via?: (typeof connectors)[number]
  } = {}
) => {
  const script = `
import { Effect } from "effect"
const { Address, Connector } = await import(${JSON.stringify(core)})
const { Addon, Datagram, NativeConnector, Raw } = await import(${JSON.stringify(dist)})
const withDatagrams = process.env.EFFECT_CONNECT_NATIVE !== "0"
const flip = (effect) => Effect.runPromise(Effect.scoped(Effect.flip(effect)).pipe(Effect.provide(NativeConnector.layer)))
  .then((e) => ({ ...e, message: e.message }))
const out = {}
${body}
console.log(JSON.stringify(out))
`
  const command = [
    ...(options.netns === undefined ? [] : ["ip", "netns", "exec", options.netns]),
    ...(options.wrap ?? []),
    process.execPath,
    "--input-type=module",
    "-e",
    script
  ]
  // Without NODE_EXTRA_CA_CERTS: Node reads that file on a thread of its own once node:tls
  // loads (effect's NodeSocket imports it), and the open file would take a descriptor from a child
  // that counts them to the last one (the RLIMIT_NOFILE recipe).
  const { NODE_EXTRA_CA_CERTS: _, EFFECT_CONNECT_NATIVE: __, ...inherited } = process.env
  const env = options.via === "NodeConnector" ? { ...inherited, EFFECT_CONNECT_NATIVE: "0" } : inherited
  const result = spawnSync(command[0]!, command.slice(1), {
    cwd: new URL("..", import.meta.url).pathname,
    env,
    encoding: "utf8",
    timeout: options.timeout ?? 30_000
  })
  expect(result.stderr).toBe("")
  return JSON.parse(result.stdout)
}

/**
 * A network namespace `ec-<name>-<pid>` with lo up: `add` makes it, `remove` deletes it (and
 * everything in it), `ip` and `exec` run a command in it, `run` a child connect (see `runChild`).
 */
export const namespace = (name: string) => {
  const ns = `ec-${name}-${process.pid}`
  return {
    name: ns,
    add: () => {
      execFileSync("ip", ["netns", "add", ns])
      execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"])
    },
    remove: () => void spawnSync("ip", ["netns", "del", ns]),
    ip: (...args: Array<string>) => void execFileSync("ip", ["-n", ns, ...args]),
    exec: (args: ReadonlyArray<string>, input?: string) =>
      void execFileSync("ip", ["netns", "exec", ns, ...args], input === undefined ? {} : { input }),
    run: (body: string, timeout?: number, via?: (typeof connectors)[number]) =>
      runChild(body, { netns: ns, ...(timeout === undefined ? {} : { timeout }), ...(via === undefined ? {} : { via }) })
  }
}
