/**
 * Unix addresses and path diagnosis against the real kernel, in temporary directories. Tests run
 * as root, which ignores file permissions, so the permission cases connect from a child process
 * that dropped to uid/gid 65534 (nobody).
 */
import { Address, Connector, Errno } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { NodeConnector } from "@effect-connect/native"
import { UnixAddress, UnixConnector } from "@effect-connect/unix"
import { fdCount, listening, tempDir } from "../../native/test/support.js"
import { longDirectory } from "./support.js"

// UnixConnector over each connector: over NodeConnector (what NativeConnector.layer is where the
// addon cannot load) the failures are walked, and long paths detoured, the same way.
const over = {
  NativeConnector: (options: UnixConnector.Options = {}) => UnixConnector.layerWith(options),
  NodeConnector: (options: UnixConnector.Options = {}) =>
    Layer.effect(Connector.Connector, UnixConnector.make(options)).pipe(Layer.provide(NodeConnector.layer))
}
const connectors = ["NativeConnector", "NodeConnector"] as const

const failure = (path: string) => Effect.flip(Effect.scoped(Connector.connect(Address.unix(path))))

describe("UnixAddress", () => {
  it.effect("paths: empty, NUL and too long are refused before any syscall, in bytes", () =>
    Effect.gen(function*() {
      expect(UnixAddress.limit).toBe(process.platform === "linux" ? 108 : 104)
      expect(yield* UnixAddress.path("/run/app.sock")).toEqual(Address.unix("/run/app.sock"))
      expect(yield* Effect.flip(UnixAddress.path(""))).toMatchObject({ _tag: "InvalidAddress", field: "path", reason: "is empty" })
      expect(yield* Effect.flip(UnixAddress.path("/a\0b"))).toMatchObject({ _tag: "InvalidAddress", field: "path" })
      // Linux takes a path that fills sun_path, unterminated; elsewhere one byte is the terminator's.
      const longest = "/" + "a".repeat(UnixAddress.limit - (process.platform === "linux" ? 1 : 2))
      expect(yield* UnixAddress.path(longest)).toEqual(Address.unix(longest))
      expect(yield* Effect.flip(UnixAddress.path(longest + "a"))).toMatchObject({
        _tag: "NameTooLong", errno: "ENAMETOOLONG", limit: UnixAddress.limit, address: `unix://${longest}a`, transient: false
      })
      // "é" is two bytes: half as many characters reach the limit.
      expect(yield* Effect.flip(UnixAddress.path("/" + "é".repeat(UnixAddress.limit / 2)))).toMatchObject({ _tag: "NameTooLong" })
    }))

  it.effect.skipIf(process.platform !== "linux")("abstract names (Linux): the leading NUL counts, no terminator", () =>
    Effect.gen(function*() {
      expect(yield* UnixAddress.abstract("a".repeat(UnixAddress.limit - 1))).toEqual(Address.abstract("a".repeat(UnixAddress.limit - 1)))
      expect(yield* Effect.flip(UnixAddress.abstract("a".repeat(UnixAddress.limit)))).toMatchObject({
        _tag: "NameTooLong", limit: UnixAddress.limit
      })
      expect(yield* Effect.flip(UnixAddress.abstract(""))).toMatchObject({ _tag: "InvalidAddress", field: "name" })
    }))
})

describe("UnixConnector: the path is walked after a failure", () => {
  it.live.each(connectors)("%s: missing directory, missing socket, not a directory, not a socket, symlink loop", (via) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "file")
      writeFileSync(file, "")
      symlinkSync(join(dir, "b"), join(dir, "a"))
      symlinkSync(join(dir, "a"), join(dir, "b"))

      const cases = [
        [join(dir, "missing", "s.sock"), "NotFound", "ENOENT", true, join(dir, "missing"), "missing-directory"],
        [join(dir, "s.sock"), "NotFound", "ENOENT", true, join(dir, "s.sock"), "missing-socket"],
        [join(file, "s.sock"), "NotADirectory", "ENOTDIR", false, file, "not-a-directory"],
        [file, "ConnectionRefused", "ECONNREFUSED", false, file, "not-a-socket"],
        [join(dir, "a", "s.sock"), "SymlinkLoop", "ELOOP", false, join(dir, "a"), "symlink-loop"]
      ] as const
      for (const [path, tag, errno, transient, component, problem] of cases) {
        const error = yield* failure(path)
        expect({ ...error }, path).toEqual({
          _tag: tag, errno, code: Errno.codeOf(errno, Errno.currentPlatform), transient, syscall: "connect", address: `unix://${path}`, diagnosis: { component, problem }
        })
        expect(error.message).toContain(`: ${component}: `)
      }
    }).pipe(Effect.provide(over[via]())))

  it.live.each(connectors)("%s: a stale socket file nobody listens on", (via) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "stale.sock")
      const child = spawnSync(process.execPath, ["-e", staleScript, path])
      expect(child.status).toBe(0)
      const error = yield* failure(path)
      expect(error).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", transient: true, diagnosis: { component: path, problem: "stale-socket" }
      })
      expect(error.message).toContain("nothing listens on")
    }).pipe(Effect.provide(over[via]())))

  it.live("other errors and other families pass through unchanged", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "up.sock")
      yield* listening(path)
      const connection = yield* Connector.connect(Address.unix(path))
      expect(connection.remote).toEqual(Address.unix(path))
      const long = join(dir, "x".repeat(120))
      expect(yield* failure(long)).toEqual(expect.objectContaining({ _tag: "NameTooLong", limit: UnixAddress.limit }))
      expect("diagnosis" in (yield* failure(long))).toBe(false)
    }).pipe(Effect.provide(UnixConnector.layer)))
})

describe.skipIf(process.platform !== "linux")("UnixConnector: paths longer than sun_path (Linux)", () => {
  it.live.each(connectors)("%s: fail by default; via-directory connects, reports the path asked for, and keeps no fd", (connector) =>
    Effect.gen(function*() {
      const dir = yield* longDirectory
      const up = join(dir, "up.sock")
      expect(Buffer.byteLength(up) + 1).toBeGreaterThan(UnixAddress.limit)
      expect(yield* Effect.flip(Effect.scoped(Connector.connect(Address.unix(up))).pipe(Effect.provide(over[connector]()))))
        .toMatchObject({ _tag: "NameTooLong", limit: UnixAddress.limit, address: `unix://${up}` })

      const via = over[connector]({ longPaths: "via-directory" })
      const before = fdCount()
      const remote = yield* Effect.scoped(Effect.map(Connector.connect(Address.unix(up)), (c) => {
        expect(fdCount()).toBe(before + 1)
        return c.remote
      })).pipe(Effect.provide(via))
      expect(remote).toEqual(Address.unix(up))
      expect(fdCount()).toBe(before)

      // The readdressed connection is still the whole connection: its local end and its views.
      const adopted = yield* Effect.scoped(Effect.map(Connector.connect(Address.unix(up)), (c) => {
        expect(c.local).toEqual(Address.unix(""))
        return (c.toNodeSocket() as unknown as { _handle: { fd: number } })._handle.fd === c.fd
      })).pipe(Effect.provide(via))
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      expect(adopted).toBe(true)
      expect(fdCount()).toBe(before)

      const missing = join(dir, "missing.sock")
      expect(yield* Effect.flip(Effect.scoped(Connector.connect(Address.unix(missing))).pipe(Effect.provide(via)))).toMatchObject({
        _tag: "NotFound", errno: "ENOENT", address: `unix://${missing}`, diagnosis: { component: missing, problem: "missing-socket" }
      })
      const gone = join(dir, "gone", "x".repeat(20), "s.sock")
      expect(yield* Effect.flip(Effect.scoped(Connector.connect(Address.unix(gone))).pipe(Effect.provide(via)))).toMatchObject({
        _tag: "NotFound", errno: "ENOENT", address: `unix://${gone}`, diagnosis: { component: join(dir, "gone"), problem: "missing-directory" }
      })
      expect(fdCount()).toBe(before)
    }))
})

describe("UnixConnector: `..` after a symlink is the kernel's, not folded by text", () => {
  // dir/a/<link> -> dir/b/c, so dir/a/<link>/../x is dir/b/x to the kernel (and dir/a/x by text).
  const linked = (linkName: string) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      mkdirSync(join(dir, "a"))
      mkdirSync(join(dir, "b", "c"), { recursive: true })
      symlinkSync(join(dir, "b", "c"), join(dir, "a", linkName))
      return { dir, via: `${dir}/a/${linkName}/..` }
    })

  it.live("the walk follows the symlink first: a regular file at the kernel's path is not-a-socket", () =>
    Effect.gen(function*() {
      const { dir, via } = yield* linked("link")
      writeFileSync(join(dir, "b", "x.sock"), "")
      const path = `${via}/x.sock`
      expect(yield* failure(path)).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", address: `unix://${path}`,
        diagnosis: { component: path, problem: "not-a-socket" }
      })
      const missing = `${via}/gone/x.sock`
      expect(yield* failure(missing)).toMatchObject({
        _tag: "NotFound", errno: "ENOENT", diagnosis: { component: `${via}/gone`, problem: "missing-directory" }
      })
    }).pipe(Effect.provide(UnixConnector.layer)))

  it.live.skipIf(process.platform !== "linux")("via-directory opens the directory the kernel finds through the symlink", () =>
    Effect.gen(function*() {
      const { dir, via } = yield* linked("l".repeat(100))
      yield* listening(join(dir, "b", "up.sock"))
      const path = `${via}/up.sock`
      expect(UnixAddress.isTooLong(path)).toBe(true)
      const remote = yield* Effect.scoped(Effect.map(Connector.connect(Address.unix(path)), (c) => c.remote))
      expect(remote).toEqual(Address.unix(path))
    }).pipe(Effect.provide(UnixConnector.layerWith({ longPaths: "via-directory" }))))
})

// A socket file with no listener, as a crashed server leaves it: the child listens and exits
// without closing, so its socket file stays.
const staleScript = `
const net = require("node:net")
net.createServer().listen(process.argv[1], () => process.exit(0))
`

// The permission cases need root to drop to nobody, and a checkout nobody can read.
const repo = fileURLToPath(new URL("../../..", import.meta.url))
const asNobody = { uid: 65534, gid: 65534, cwd: repo }
const canDrop = process.getuid?.() === 0 &&
  spawnSync(process.execPath, ["-e", "require.resolve('@effect-connect/unix')"], asNobody).status === 0

const childScript = `
const { Effect } = await import("effect")
const { Address, Connector } = await import("@effect-connect/core")
const { UnixConnector } = await import("@effect-connect/unix")
const e = await Effect.runPromise(Effect.flip(Effect.scoped(Connector.connect(Address.unix(process.argv[1])))).pipe(
  Effect.provide(UnixConnector.layer)))
console.log(JSON.stringify({ _tag: e._tag, errno: e.errno, reason: e.reason, diagnosis: e.diagnosis, message: e.message }))
`
const connectAsNobody = (path: string) => {
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", childScript, path], asNobody)
  expect(child.stderr.toString()).toBe("")
  return JSON.parse(child.stdout.toString())
}

describe("UnixConnector: permissions, from a child process running as nobody", () => {
  it.live.skipIf(!canDrop)(
    `search permission on a directory vs write permission on the socket${canDrop ? "" : " (skipped: needs root and a checkout uid 65534 can read)"}`,
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        chmodSync(dir, 0o755)
        const locked = join(dir, "locked")
        mkdirSync(locked, 0o700)
        yield* listening(join(locked, "s.sock"))
        const open = join(dir, "open")
        mkdirSync(open, 0o755)
        const readOnly = join(open, "s.sock")
        yield* listening(readOnly)
        chmodSync(readOnly, 0o755)

        expect(connectAsNobody(join(locked, "s.sock"))).toMatchObject({
          _tag: "PermissionDenied", errno: "EACCES", reason: "search-prefix", diagnosis: { component: locked, problem: "search-denied" }
        })
        const write = connectAsNobody(readOnly)
        expect(write).toMatchObject({
          _tag: "PermissionDenied", errno: "EACCES", reason: "socket-write", diagnosis: { component: readOnly, problem: "write-denied" }
        })
        expect(write.message).toContain("no write permission on this socket file")
      }),
    30_000
  )
})
