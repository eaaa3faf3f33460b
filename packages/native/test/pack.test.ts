// The packages as a user gets them: `npm pack` of core, native, unix and clients, installed from
// the tarballs beside effect 4 into an empty project outside the workspace with a plain
// `npm install` (only the offline, audit and fund flags) and a PATH that holds node and npm and no
// compiler, then used from there: a connect over loopback with the addon's prebuild, the same
// with the addon made unloadable (NodeConnector under `NativeConnector.layer`), `require()` from
// CommonJS, and the types with `skipLibCheck` off. It prints the install time and what ran.
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repo = fileURLToPath(new URL("../../..", import.meta.url))
const packages = ["core", "native", "unix", "clients"] as const

// npm's own script (npm-cli.js): the one running this test, else the first npm on PATH.
const npmCli = (): string | undefined => {
  if (process.env.npm_execpath?.endsWith("npm-cli.js")) return process.env.npm_execpath
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "npm")
    if (dir !== "" && existsSync(candidate)) return realpathSync(candidate)
  }
  return undefined
}
const npm = npmCli()

const work = mkdtempSync(join(tmpdir(), "effect-connect-pack-"))
const project = join(work, "project")
const bin = join(work, "bin")
const installed = (name: string) => join(project, "node_modules", "@effect-connect", name)

// A user's shell: this environment (its certificates and proxies too) with a PATH that has node,
// npm and sh but no cc/g++/make/python3, and none of the npm_* settings of an `npm test` that may
// be running this.
const userEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))),
  PATH: bin
})

const run = (command: string, args: ReadonlyArray<string>, options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv }) => {
  const started = performance.now()
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? userEnv(), encoding: "utf8", timeout: 300_000 })
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`
  return { status: result.status, output, seconds: (performance.now() - started) / 1000 }
}

// A listener on loopback that accepts, and a port nothing listens on (a listener's, closed).
const script = `
import { Address, Connector } from "@effect-connect/core"
import { Addon, NativeConnector } from "@effect-connect/native"
import { Effect, References } from "effect"
import * as net from "node:net"

const listen = () => new Promise((resolve) => {
  const server = net.createServer((socket) => socket.end())
  server.listen(0, "127.0.0.1", () => resolve(server))
})
const server = await listen()
const closed = await listen()
const closedPort = closed.address().port
await new Promise((resolve) => closed.close(resolve))

const program = Effect.gen(function*() {
  const connection = yield* Connector.connect(Address.tcp("127.0.0.1", server.address().port))
  const remote = connection.remote
  const refused = yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", closedPort)))
  return { remote: Address.format(remote), refused: refused._tag, errno: refused.errno }
})
const result = await Effect.runPromise(Effect.scoped(program).pipe(
  Effect.provide(NativeConnector.layer),
  Effect.provideService(References.MinimumLogLevel, "Debug")
))
const problem = Addon.loadError()
console.log("RESULT " + JSON.stringify({ addon: problem === undefined ? "loaded" : problem.message, ...result }))
server.close()
`

const cjs = `
const entries = ["@effect-connect/core", "@effect-connect/native", "@effect-connect/unix", "@effect-connect/clients",
  "@effect-connect/clients/Pg", "@effect-connect/clients/SqlPg", "@effect-connect/clients/Undici", "@effect-connect/clients/Ioredis"]
console.log("RESULT " + JSON.stringify(Object.fromEntries(entries.map((entry) => [entry, Object.keys(require(entry)).length]))))
`

// What a TypeScript user writes, checked with skipLibCheck off, under node16/nodenext (ESM and
// CommonJS) and bundler resolution, with no client installed.
const typed = `
import { Address, ConnectError, Connector } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { UnixConnector } from "@effect-connect/unix"
import { Http, Mysql2, Pg, Postgres, SocketFactory } from "@effect-connect/clients"
import * as PgOnly from "@effect-connect/clients/Pg"
import { Effect } from "effect"

export const stream = Pg.stream
export const same: typeof Pg.stream = PgOnly.stream
export const others = [Http.agent, Mysql2.stream, Postgres.socket, SocketFactory.make] as const
export const layers = [NativeConnector.layer, UnixConnector.layer] as const
export const program = Connector.connect(Address.tcp("127.0.0.1", 5432)).pipe(
  Effect.catchTag("ConnectionRefused", (e: ConnectError.ConnectionRefused) => Effect.succeed(e.errno))
)
`
const typedCjs = `
import core = require("@effect-connect/core")
import clients = require("@effect-connect/clients")
export const tcp: typeof core.Address.tcp = core.Address.tcp
export const stream: typeof clients.Pg.stream = clients.Pg.stream
`

const tsconfig = (compilerOptions: object, include: ReadonlyArray<string>) =>
  JSON.stringify({
    compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022", types: ["node"], ...compilerOptions },
    include
  })

const skip = npm === undefined ? "no npm on PATH" : process.platform !== "linux" ? "the prebuilds are linux ones" : undefined

describe.skipIf(skip !== undefined)(`packages from their tarballs${skip ? ` (skipped: ${skip})` : ""}`, () => {
  const tarballs: Array<string> = []
  let install: { status: number | null; output: string; seconds: number }

  beforeAll(() => {
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc")
    execFileSync(process.execPath, [tsc, "-b", ...packages.map((name) => join(repo, "packages", name))], { stdio: "inherit" })
    const packed = join(work, "tarballs")
    mkdirSync(packed)
    for (const name of packages) {
      // prepack (native) builds the prebuilds with the machine's compiler: the real PATH here.
      const result = run(process.execPath, [npm!, "pack", "--pack-destination", packed], { cwd: join(repo, "packages", name), env: process.env })
      if (result.status !== 0) throw new Error(`npm pack of ${name} failed:\n${result.output}`)
      console.log(`packed ${name} in ${result.seconds.toFixed(1)} s`)
    }
    tarballs.push(...readdirSync(packed).map((file) => join(packed, file)))

    mkdirSync(bin)
    symlinkSync(process.execPath, join(bin, "node"))
    symlinkSync(npm!, join(bin, "npm"))
    // npm runs scripts with `sh` from PATH.
    symlinkSync("/bin/sh", join(bin, "sh"))
    mkdirSync(project)
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pack-test", private: true, type: "module" }))
    install = run(join(bin, "npm"), ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs, "effect@^4.1"], { cwd: project })
    console.log(`node ${process.version}: npm install of ${tarballs.length} tarballs and effect@^4.1, no compiler on PATH: ` +
      `${install.seconds.toFixed(1)} s, exit ${install.status}\n${install.output.trim()}`)
  }, 600_000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it("installs with a plain npm install, no compiler on PATH, no peer warning and no ERESOLVE", () => {
    expect(install.status).toBe(0)
    expect(install.output).not.toMatch(/ERESOLVE|peer/i)
    for (const name of ["cc", "g++", "make", "python3"]) {
      expect(spawnSync(name, ["--version"], { env: userEnv() }).error).toMatchObject({ code: "ENOENT" })
    }
  })

  it("ships each package's README and LICENSE, no build info, no tests, no object files", () => {
    for (const name of packages) {
      const files = readdirSync(installed(name), { recursive: true, encoding: "utf8" })
      expect(files, name).toEqual(expect.arrayContaining(["README.md", "LICENSE", "package.json", "dist/index.js", "dist/index.d.ts"]))
      expect(files.filter((file) => /tsbuildinfo|^test|\.o$|\.c$|errno.inject|^build/.test(file)), name).toEqual([])
    }
  })

  it("connects over loopback with the prebuild", () => {
    expect(existsSync(join(installed("native"), "build"))).toBe(false)
    const prebuilds = readdirSync(join(installed("native"), "prebuilds"))
    const result = run(join(bin, "node"), ["-e", script, "--input-type=module"], { cwd: project })
    console.log(`prebuild path (prebuilds/: ${prebuilds.join(", ")}), ${result.seconds.toFixed(2)} s:\n${result.output.trim()}`)
    expect(result.status).toBe(0)
    expect(prebuilds).toContain(`linux-${process.arch}`)
    expect(JSON.parse(result.output.split("RESULT ")[1]!)).toMatchObject({
      addon: "loaded",
      refused: "ConnectionRefused",
      errno: "ECONNREFUSED"
    })
  })

  it("installs with no prebuild and no compiler, and connects over loopback through NodeConnector", () => {
    // native's tarball without its prebuilds: a platform none was built for.
    const stripped = join(work, "stripped")
    mkdirSync(stripped)
    const nativeTarball = tarballs.find((file) => file.includes("effect-connect-native-"))!
    execFileSync("tar", ["xzf", nativeTarball, "-C", stripped])
    rmSync(join(stripped, "package", "prebuilds"), { recursive: true, force: true })
    execFileSync("tar", ["czf", join(stripped, "native.tgz"), "-C", stripped, "package"])
    const fallback = join(work, "fallback")
    mkdirSync(fallback)
    writeFileSync(join(fallback, "package.json"), JSON.stringify({ name: "pack-test-fallback", private: true, type: "module" }))
    const others = tarballs.filter((file) => file !== nativeTarball)
    const installation = run(join(bin, "npm"), ["install", "--prefer-offline", "--no-audit", "--no-fund", ...others, join(stripped, "native.tgz"), "effect@^4.1"], { cwd: fallback })
    console.log(`npm install with no prebuild and no compiler on PATH: ${installation.seconds.toFixed(1)} s, exit ${installation.status}\n${installation.output.trim()}`)
    expect(installation.status).toBe(0)
    expect(installation.output).not.toMatch(/ERESOLVE|peer/i)
    const native = join(fallback, "node_modules", "@effect-connect", "native")
    expect([existsSync(join(native, "prebuilds")), existsSync(join(native, "build", "Release", "effect_connect.node"))]).toEqual([false, false])
    const result = run(join(bin, "node"), ["-e", script, "--input-type=module"], { cwd: fallback })
    console.log(`fallback path (no addon), ${result.seconds.toFixed(2)} s:\n${result.output.trim()}`)
    expect(result.status).toBe(0)
    expect(result.output).toMatch(/NodeConnector/)
    const outcome = JSON.parse(result.output.split("RESULT ")[1]!)
    expect(outcome).toMatchObject({ refused: "ConnectionRefused", errno: "ECONNREFUSED" })
    expect(outcome.addon).not.toBe("loaded")
  }, 300_000)

  it("loads with require() from CommonJS", () => {
    writeFileSync(join(project, "check.cjs"), cjs)
    const result = run(join(bin, "node"), ["check.cjs"], { cwd: project })
    console.log(`require() on node ${process.version}:\n${result.output.trim()}`)
    expect(result.status).toBe(0)
    const counts: Record<string, number> = JSON.parse(result.output.split("RESULT ")[1]!)
    expect(Object.values(counts).every((count) => count > 0)).toBe(true)
  })

  it("type-checks with skipLibCheck off and no client installed (nodenext ESM and CJS, bundler)", () => {
    const types = run(join(bin, "npm"), ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-save", "@types/node@^24"], { cwd: project })
    expect(types.status, types.output).toBe(0)
    writeFileSync(join(project, "main.ts"), typed)
    writeFileSync(join(project, "check.cts"), typedCjs)
    writeFileSync(join(project, "tsconfig.nodenext.json"), tsconfig({ module: "nodenext", moduleResolution: "nodenext" }, ["main.ts", "check.cts"]))
    // A monorepo's own "source" condition (a common name for its TypeScript sources) must not
    // reach ours: they would be type-checked under the user's options, as the user's code.
    writeFileSync(
      join(project, "tsconfig.bundler.json"),
      tsconfig({ module: "preserve", moduleResolution: "bundler", customConditions: ["source", "development"] }, ["main.ts"])
    )
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc")
    for (const config of ["tsconfig.nodenext.json", "tsconfig.bundler.json"]) {
      const result = run(join(bin, "node"), [tsc, "-p", config], { cwd: project })
      console.log(`tsc -p ${config} (skipLibCheck false): exit ${result.status}${result.output.trim() ? `\n${result.output.trim()}` : ""}`)
      expect(result.status, result.output).toBe(0)
      const files = run(join(bin, "node"), [tsc, "-p", config, "--listFilesOnly"], { cwd: project }).output.split("\n")
      expect(files.filter((file) => /node_modules\/@effect-connect\/[^/]+\/src\//.test(file)), config).toEqual([])
    }
  }, 300_000)
})
