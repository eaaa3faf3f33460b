// Where the addon cannot be loaded: the package imports, NativeConnector.layer is NodeConnector's
// (said once at Debug level, with the load error), and what needs the addon (Raw, Datagram) fails
// with Unsupported naming the function and the load error. In this process the addon is kept from
// loading by EFFECT_CONNECT_NATIVE=0 (read on first use; every test file has its own modules, so
// the others load it as usual); a child process imports a copy of the built package with no addon
// beside it at all, as an install whose build was skipped leaves it.
import { Address, Connector, ConnectError } from "@effect-connect/core"
import { Addon, Datagram, NativeConnector, Raw } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, References } from "effect"
import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, vi } from "vitest"

vi.stubEnv("EFFECT_CONNECT_NATIVE", "0")
afterAll(() => void vi.unstubAllEnvs())

const why = "the @effect-connect/native addon could not be loaded: EFFECT_CONNECT_NATIVE=0 is set"

// A loopback listener that answers each connection with "hi" and closes it.
const greeter = Effect.acquireRelease(
  Effect.callback<ReturnType<typeof createServer>>((resume) => {
    const server = createServer((s) => s.end("hi"))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)

const read = (socket: Socket) =>
  Effect.callback<string>((resume) => {
    let text = ""
    socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resume(Effect.succeed(text)))
  })

describe("the addon kept from loading (EFFECT_CONNECT_NATIVE=0)", () => {
  it("Addon says why: Unsupported, with the reason", async () => {
    expect({ ...Addon.loadError() }).toEqual({ _tag: "Unsupported", feature: "the addon", reason: why, transient: false })
    const failed = await Effect.runPromise(Effect.flip(Addon.check))
    expect(failed).toBeInstanceOf(ConnectError.Unsupported)
    expect(failed.message).toBe(`the addon is not available here: ${why}`)
  })

  it.live("NativeConnector.layer connects over loopback through NodeConnector, and says so once, at Debug", () =>
    Effect.gen(function*() {
      const lines: Array<{ level: string; message: unknown }> = []
      const logger = Logger.make(({ logLevel, message }) => void lines.push({ level: logLevel, message }))
      const server = yield* greeter
      const to = Address.tcp("127.0.0.1", (server.address() as { port: number }).port)
      const texts = yield* Effect.gen(function*() {
        const texts: Array<string> = []
        for (let i = 0; i < 3; i++) {
          texts.push(yield* Effect.scoped(Effect.flatMap(Connector.connect(to), (c) => {
            // NodeConnector's connection: the socket that connected, whose fd libuv keeps.
            expect(() => c.detach()).toThrow("owned by its net.Socket (NodeConnector)")
            return read(c.toNodeSocket())
          })))
        }
        return texts
      }).pipe(
        Effect.provide(NativeConnector.layer),
        Effect.provide(Logger.layer([logger])),
        Effect.provideService(References.MinimumLogLevel, "Debug")
      )
      expect(texts).toEqual(["hi", "hi", "hi"])
      expect(lines).toHaveLength(1)
      expect(lines[0]!.level).toBe("Debug")
      const [message, error] = lines[0]!.message as [string, ConnectError.Unsupported]
      expect(message).toBe("NativeConnector falls back to NodeConnector (node:net)")
      expect({ ...error }).toEqual({ _tag: "Unsupported", feature: "NativeConnector", reason: why, transient: false })
    }))

  it.live("the fallback's errors are the same tagged errors: a refused connect, exactly", () =>
    Effect.gen(function*() {
      const server = yield* greeter
      const port = (server.address() as { port: number }).port
      yield* Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
      const error = yield* Effect.flip(Effect.scoped(Connector.connect(Address.tcp("127.0.0.1", port))))
      expect({ ...error }).toEqual({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect",
        address: `tcp://127.0.0.1:${port}`, transient: true
      })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("Raw and Datagram fail with Unsupported, naming the function; their input is checked first", () =>
    Effect.gen(function*() {
      const unsupported = (feature: string) => ({ _tag: "Unsupported", feature, reason: why, transient: false })
      expect({ ...yield* Effect.flip(Effect.scoped(Raw.socket("inet", "stream"))) }).toEqual(unsupported("Raw.socket"))
      // openDirectory is node:fs's open(2): UnixConnector's long-path detour needs no addon.
      expect(yield* Effect.scoped(Raw.openDirectory("/"))).toEqual(expect.any(Number))
      expect({ ...yield* Effect.flip(Raw.connect(3, Address.tcp("127.0.0.1", 1))) }).toEqual(unsupported("Raw.connect"))
      expect({ ...yield* Effect.flip(Raw.localAddress(3)) }).toEqual(unsupported("Raw.localAddress"))
      expect({ ...yield* Effect.flip(Effect.scoped(Datagram.make("udp4"))) }).toEqual(unsupported("Datagram.make"))
      // What no addon could take is the caller's problem, told as it is with the addon.
      expect(yield* Effect.flip(Raw.connect(1.5, Address.tcp("127.0.0.1", 1)))).toMatchObject({ _tag: "InvalidOption", option: "fd" })
      expect(yield* Effect.flip(Effect.scoped(Datagram.make("udp4", { maxBytes: 0 })))).toMatchObject({ _tag: "InvalidAddress", field: "option" })
      // The constants need no addon.
      expect([Raw.sunPathMax, Datagram.maxBytesLimit]).toEqual([process.platform === "linux" ? 108 : 104, 1 << 20])
    }))

})

// The built package (dist) copied where no build/ and no prebuilds/ are beside it, its
// dependencies linked from this checkout: node-gyp-build's own error is the reason.
const nativeRoot = fileURLToPath(new URL("..", import.meta.url))
const repoModules = fileURLToPath(new URL("../../../node_modules", import.meta.url))

describe("a copy of the built package with no addon at all", () => {
  it("imports, falls back, connects over loopback, and Raw says node-gyp-build's error", () => {
    const dir = mkdtempSync(join(tmpdir(), "ec-fallback-"))
    try {
      const pkg = join(dir, "node_modules", "@effect-connect", "native")
      mkdirSync(pkg, { recursive: true })
      cpSync(join(nativeRoot, "package.json"), join(pkg, "package.json"))
      cpSync(join(nativeRoot, "dist"), join(pkg, "dist"), { recursive: true })
      symlinkSync(join(nativeRoot, "..", "core"), join(dir, "node_modules", "@effect-connect", "core"))
      for (const name of ["effect", "node-gyp-build"]) symlinkSync(join(repoModules, name), join(dir, "node_modules", name))
      writeFileSync(
        join(dir, "main.mjs"),
        `
import { Effect } from "effect"
import { createServer } from "node:net"
import { Address, Connector } from "@effect-connect/core"
import { Addon, NativeConnector, Raw } from "@effect-connect/native"
const server = createServer((s) => s.on("error", () => {}).end("hi"))
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const to = Address.tcp("127.0.0.1", server.address().port)
const remote = await Effect.runPromise(Effect.scoped(Effect.map(Connector.connect(to), (c) => Address.format(c.remote))).pipe(Effect.provide(NativeConnector.layer)))
const raw = await Effect.runPromise(Effect.flip(Effect.scoped(Raw.socket("inet", "stream"))))
server.close()
console.log(JSON.stringify({ remote, reason: Addon.loadError()?.reason, raw: { ...raw } }))
`
      )
      const { EFFECT_CONNECT_NATIVE: _, ...env } = process.env
      const child = spawnSync(process.execPath, [join(dir, "main.mjs")], { cwd: dir, env, encoding: "utf8", timeout: 20_000 })
      expect(child.stderr).toBe("")
      const out = JSON.parse(child.stdout)
      expect(out.remote).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
      expect(out.reason).toContain("the @effect-connect/native addon could not be loaded: No native build was found for platform=")
      expect(out.reason).toContain(`loaded from: ${pkg}`)
      expect(out.raw).toEqual({ _tag: "Unsupported", feature: "Raw.socket", reason: out.reason, transient: false })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
