// The prebuilt addon's smoke test, meant for a Node of another architecture (the arm64 one under
// qemu-user: test/arm64.smoke.test.ts). With PREBUILDS_ONLY=1 node-gyp-build skips build/Release
// and loads prebuilds/<platform>-<arch>/. Over the built dist, through NativeConnector: a connect
// to a loopback TCP listener, one to a unix socket in a temporary directory, and one to a closed
// port, refused with core's tagged error. One line per check, `<name>: <json>`; exit 1 on the
// first check that fails.
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { Address, Connector } from "@effect-connect/core"
import { Addon, NativeConnector } from "@effect-connect/native"
import { Effect } from "effect"

const root = fileURLToPath(new URL("..", import.meta.url))
const require = createRequire(import.meta.url)

const print = (name, value) => console.log(`${name}: ${JSON.stringify(value)}`)

// A listener on `at` ({ port } or { path }) and its first accepted connection, each bounded.
const listen = (at) =>
  new Promise((resolve, reject) => {
    let accept
    const accepted = new Promise((resolve) => (accept = resolve))
    const server = createServer((socket) => {
      socket.destroy()
      accept(true)
    })
    server.once("error", reject)
    server.listen(at, () => resolve({ server, accepted }))
  })

const within = (promise, ms) =>
  Promise.race([promise, new Promise((resolve) => setTimeout(resolve, ms, false).unref())])

const connect = (address) =>
  Effect.runPromise(
    Connector.connect(address).pipe(
      Effect.map((c) => ({ local: Address.format(c.local), remote: Address.format(c.remote) })),
      Effect.scoped,
      Effect.provide(NativeConnector.layer)
    )
  )

const dir = mkdtempSync(join(tmpdir(), "ec-smoke-"))
try {
  const file = require("node-gyp-build").resolve(root)
  const failure = Addon.loadError()
  if (failure !== undefined) throw failure
  print("addon", { file: relative(root, file), platform: process.platform, arch: process.arch, node: process.version })

  const tcp = await listen({ port: 0, host: "127.0.0.1" })
  const connected = await connect(Address.tcp("127.0.0.1", tcp.server.address().port))
  print("tcp", { ...connected, accepted: await within(tcp.accepted, 10_000) })
  // The port is free again once closed: nothing listens there for the refusal below.
  const closed = tcp.server.address().port
  await new Promise((resolve) => tcp.server.close(resolve))

  const path = join(dir, "smoke.sock")
  const unix = await listen({ path })
  print("unix", { ...await connect(Address.unix(path)), accepted: await within(unix.accepted, 10_000) })
  await new Promise((resolve) => unix.server.close(resolve))

  const refused = await Effect.runPromise(
    Effect.flip(Effect.scoped(Connector.connect(Address.tcp("127.0.0.1", closed)))).pipe(Effect.provide(NativeConnector.layer))
  )
  const { _tag, errno, code, syscall, address, transient } = refused
  print("refused", { _tag, errno, code, syscall, address, transient })
} catch (error) {
  print("failed", { error: String(error?.message ?? error) })
  process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
