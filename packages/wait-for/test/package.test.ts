// The package as a user gets it: `npm pack`, installed into an empty directory outside the
// workspace, its `wait-for` bin run there. The tarball is the bundle, README and LICENSE, with no
// dependency; the bin reaches TCP, http and unix targets (one longer than sun_path, through its
// directory) and gives the typed reasons, with no addon and no other package anywhere it can see,
// and never tries to load the addon.
import { execFileSync, spawnSync } from "node:child_process"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer as createHttpServer, type Server as HttpServer } from "node:http"
import { createServer, type Server } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { close, env, events, listen, refusingPort, run, tempDir } from "./support.js"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const t = tempDir()
const project = join(t.dir, "project")
const bin = join(project, "node_modules", ".bin", "wait-for")
let packed: { readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }
let manifest: Record<string, unknown>
let up: Server & { port: number }
let http: HttpServer
let httpPort = 0
let refused: Awaited<ReturnType<typeof refusingPort>>

let installWarnings = ""

const npm = (args: ReadonlyArray<string>, cwd: string) => {
  const r = spawnSync("npm", [...args], { cwd, encoding: "utf8", env: env(), timeout: 120_000 })
  if (r.status !== 0) throw new Error(`npm ${args.join(" ")}: ${r.status ?? r.signal}\n${r.stderr}`)
  return r
}

beforeAll(async () => {
  // `prepack` bundles first, as at publish, and says so on stderr: stdout is npm's JSON alone,
  // for the tools that read it.
  packed = JSON.parse(npm(["pack", "--json", "--pack-destination", t.dir], root).stdout)[0]
  const tarball = join(t.dir, packed.filename)
  mkdirSync(project)
  npm(["init", "-y"], project)
  installWarnings = npm(["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], project).stderr
  manifest = JSON.parse(readFileSync(join(project, "node_modules", "@effect-connect", "wait-for", "package.json"), "utf8"))
  up = await listen()
  http = createHttpServer((_, res) => res.end("ok"))
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  httpPort = (http.address() as { port: number }).port
  refused = await refusingPort()
}, 180_000)

afterAll(async () => {
  if (up !== undefined) await close(up)
  if (http !== undefined) await close(http as never)
  await refused?.release()
  t.remove()
})

// Preloaded into every run: says so on stderr if anything tries to load the addon (its loader,
// node-gyp-build, or any .node file), which no run may do.
const guard = join(t.dir, "guard.cjs")
writeFileSync(guard, `
const Module = require("node:module")
const load = Module._load
Module._load = function (request, ...rest) {
  if (request === "node-gyp-build" || request.endsWith(".node")) process.stderr.write("ADDON LOAD: " + request + "\\n")
  return load.call(this, request, ...rest)
}
const dlopen = process.dlopen
process.dlopen = function (module, file, ...rest) {
  process.stderr.write("ADDON LOAD: " + file + "\\n")
  return dlopen.call(this, module, file, ...rest)
}
`)

// The bin as a user runs it: from the project, with no NODE_PATH; never loading the addon.
const wait = async (args: ReadonlyArray<string>) => {
  const { NODE_PATH: _, ...rest } = env()
  const r = await run(bin, args, { env: { ...rest, NODE_OPTIONS: `--require ${guard}` } as Record<string, string> })
  expect(r.stderr).not.toContain("ADDON LOAD")
  return r
}

describe("the tarball", () => {
  it("holds the bundle, README, LICENSE and package.json, nothing else", () => {
    const paths = packed.files.map((f) => f.path).sort()
    expect(paths.filter((p) => !/^dist\/bundle\/[\w-]+\.js$/.test(p))).toEqual(["LICENSE", "README.md", "package.json"])
    expect(paths).toContain("dist/bundle/wait-for.js")
  })

  it("has no dependency of any kind, and the bin wait-for", () => {
    expect(manifest).toMatchObject({ name: "@effect-connect/wait-for", bin: { "wait-for": "./dist/bundle/wait-for.js" } })
    expect(manifest.private).toBeUndefined()
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"]) {
      expect(manifest[field], field).toBeUndefined()
    }
    expect(installWarnings).toBe("")
    // What npm installed: the package and nothing beside it.
    expect(execFileSync("ls", [join(project, "node_modules")], { encoding: "utf8" }).split("\n").filter((n) => n !== "" && n !== ".bin" && !n.startsWith(".")))
      .toEqual(["@effect-connect"])
  })
})

describe("the installed bin", () => {
  it("--help: exit 0", async () => {
    const r = await wait(["--help"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.startsWith("wait-for: wait until network endpoints accept connections")).toBe(true)
  })

  it("a TCP listener and an http target: exit 0, the command run", async () => {
    const r = await wait([`tcp://127.0.0.1:${up.port}`, `http://127.0.0.1:${httpPort}/health`, "--", process.execPath, "-e", "console.log('ran')"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe("ran\n")
  })

  it("a refused port: exit 1, ConnectionRefused with its errno", async () => {
    const r = await wait(["--json", "--max-attempts", "1", `127.0.0.1:${refused.port}`])
    expect(r.code).toBe(1)
    expect(events(r.stdout).find((e) => e.event === "result")).toMatchObject({
      status: "failed",
      attempts: 1,
      error: { tag: "ConnectionRefused", errno: "ECONNREFUSED", syscall: "connect", address: `tcp://127.0.0.1:${refused.port}`, transient: true }
    })
  })

  it("a missing unix directory: exit 1, the diagnosis names it", async () => {
    const path = join(t.dir, "missing", "app.sock")
    const r = await wait(["--json", "-t", "300ms", `unix://${path}`])
    expect(r.code).toBe(1)
    expect(events(r.stdout).find((e) => e.event === "result")).toMatchObject({
      status: "timed-out",
      error: { cause: { tag: "NotFound", errno: "ENOENT", diagnosis: { component: join(t.dir, "missing"), problem: "missing-directory" } } }
    })
  })

  it.skipIf(process.platform !== "linux")("a unix socket whose path is longer than sun_path (Linux): exit 0, through its directory", async () => {
    const dir = join(t.dir, "d".repeat(60), "e".repeat(60))
    mkdirSync(dir, { recursive: true })
    const path = join(dir, "app.sock")
    // The listener binds through a short relative path: its own path is too long for bind(2) too.
    const server = createServer((s) => s.end())
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      await new Promise<void>((resolve) => server.listen("app.sock", resolve))
    } finally {
      process.chdir(cwd)
    }
    try {
      expect(Buffer.byteLength(path)).toBeGreaterThan(108)
      const r = await wait([`unix://${path}`])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain(`up    unix://${path}  in `)
    } finally {
      await close(server)
      rmSync(join(t.dir, "d".repeat(60)), { recursive: true, force: true })
    }
  })
})
