// The path walk against the real kernel, on paths that change: a path changed between the
// connect and its diagnosis keeps the kernel's errno and transience; a server that removes and
// re-binds its socket every millisecond never makes a connect fail permanently; and permissions
// are judged with the ids the kernel's connect uses (the effective ones), as it judges them.
import { Address, ConnectError, Connector, Errno, Policy } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { chmodSync, chownSync, mkdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { isMainThread } from "node:worker_threads"
import { UnixConnector } from "@effect-connect/unix"
import { loadedBinding } from "../../native/src/internal/binding.js"
import { tempDir } from "../../native/test/support.js"

const binding = loadedBinding()

const c = binding.constants
const sockAddr = (path: string) => ({ family: c.AF_UNIX, address: new TextEncoder().encode(path), port: 0 })

// A socket file nobody listens on, as a server that exited without removing it leaves it.
const staleSocket = (path: string) => {
  const fd = binding.socket(c.AF_UNIX, c.SOCK_STREAM)
  const rc = binding.bind(fd, sockAddr(path))
  binding.close(fd)
  if (rc < 0) throw new Error(`bind ${path}: ${rc}`)
}

// The kernel's own error for a connect, undiagnosed.
const kernelError = (path: string) =>
  Effect.flip(Effect.scoped(Connector.connect(Address.unix(path)))).pipe(Effect.provide(NativeConnector.layer))

describe("a path that changed between the connect and its diagnosis", () => {
  it.live("the diagnosis never contradicts the errno: the error stays the kernel's, with its transience", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const stale = join(dir, "stale.sock")
      staleSocket(stale)
      const refused = yield* kernelError(stale)
      expect(refused).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", transient: true })
      // The server removed its socket file before the walk.
      unlinkSync(stale)
      const gone = yield* UnixConnector.diagnose(stale, refused)
      expect({ ...gone }).toEqual({ ...refused })

      // A directory was missing: ENOENT. Before the walk, a regular file or a symlink loop took its place.
      for (const appear of [(p: string) => writeFileSync(p, ""), (p: string) => symlinkSync(p, p)]) {
        const missing = join(dir, `missing-${appear.length}-${Math.random()}`)
        const notFound = yield* kernelError(join(missing, "s.sock"))
        expect(notFound).toMatchObject({ _tag: "NotFound", errno: "ENOENT", transient: true })
        appear(missing)
        const diagnosed = yield* UnixConnector.diagnose(join(missing, "s.sock"), notFound)
        expect({ ...diagnosed }).toEqual({ ...notFound })
        expect(diagnosed.message).toBe(notFound.message)
      }

      // What the walk finds and explains the errno is kept: a regular file where the stale socket was.
      const replaced = join(dir, "replaced.sock")
      staleSocket(replaced)
      const before = yield* kernelError(replaced)
      unlinkSync(replaced)
      writeFileSync(replaced, "")
      expect(yield* UnixConnector.diagnose(replaced, before)).toMatchObject({
        _tag: "ConnectionRefused", transient: false, diagnosis: { component: replaced, problem: "not-a-socket" }
      })
    }))
})

// A server in a child process (so that it changes the path while this process walks it): every
// millisecond, for half of it, it closes its listener (the file stays: a stale socket), removes
// the file (ENOENT), binds a new one (a socket file nobody listens on yet) and listens, over and
// over; for the other half it listens. It exits by itself after `lifetime` ms. With the walk
// before (a stat, then access(2), and no check against the errno), five runs of the 600 connects
// below ended permanent 0, 1, 8, 8 and 10 times (ENOENT or ECONNREFUSED with write-denied: the
// file went between the stat and the access), with up to 25 diagnoses contradicting their errno
// (ECONNREFUSED with missing-socket), and 0 to 17 of the 300 retried connects gave up early.
const flapScript = `
const b = require(process.argv[1])
const { unlinkSync } = require("node:fs")
const c = b.constants
const path = process.argv[2]
const address = { family: c.AF_UNIX, address: new TextEncoder().encode(path), port: 0 }
const until = Date.now() + Number(process.argv[3])
let fd = -1
const flap = () => {
  if (fd >= 0) b.close(fd)
  try { unlinkSync(path) } catch {}
  fd = b.socket(c.AF_UNIX, c.SOCK_STREAM)
  b.bind(fd, address)
  b.listen(fd, 4096)
  if (Date.now() > until) process.exit(0)
}
flap()
process.stdout.write("up\\n")
setInterval(() => {
  const end = process.hrtime.bigint() + 500_000n
  do flap(); while (process.hrtime.bigint() < end)
}, 1)
`
const addon = new URL("../../native/build/Release/effect_connect.node", import.meta.url).pathname

const flappingServer = (path: string, lifetime: number) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const child = spawn(process.execPath, ["-e", flapScript, addon, path, String(lifetime)], { stdio: ["ignore", "pipe", "inherit"] })
      child.stdout!.once("data", () => resume(Effect.succeed(child)))
      child.once("exit", (code) => resume(Effect.die(new Error(`the flapping server exited with ${code}`))))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

// A pause of 0 to 1 ms, so that the connects meet the server in every phase of its flap.
const jitter = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, Math.random() < 0.5 ? 0 : 1)))

describe("a server that removes and re-binds its socket every millisecond", () => {
  it.live("600 connects: every failure is transient, and any diagnosis explains its errno", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "flap.sock")
      yield* flappingServer(path, 20_000)
      const failures: Array<ConnectError.ConnectError> = []
      for (let i = 0; i < 600; i++) {
        const failure = yield* Effect.option(Effect.flip(Effect.scoped(Connector.connect(Address.unix(path)))))
        if (Option.isSome(failure)) failures.push(failure.value)
        yield* jitter
      }
      const permanent = failures.filter((e) => !ConnectError.isTransient(e))
      expect(permanent.map((e) => e.message)).toEqual([])
      // The server did flap under the connects (about 4 in 10 fail).
      expect(failures.length).toBeGreaterThan(0)
      for (const e of failures) {
        if (!ConnectError.isErrnoError(e)) throw e
        expect(["ENOENT", "ECONNREFUSED"]).toContain(e.errno)
        if (e.diagnosis !== undefined) expect(Errno.explains(e.errno, e.diagnosis.problem)).toBe(true)
      }
    }).pipe(Effect.provide(UnixConnector.layer)), 60_000)

  it.live("300 connects retried under a 1 second deadline: every one connects", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "flap.sock")
      yield* flappingServer(path, 20_000)
      const gaveUp: Array<string> = []
      for (let i = 0; i < 300; i++) {
        const failure = yield* Effect.option(Effect.flip(Effect.scoped(Connector.connect(Address.unix(path))).pipe(
          Policy.retryTransient(Policy.backoff({ base: "1 millis", cap: "5 millis" })),
          Policy.deadline("1 second")
        )))
        if (Option.isSome(failure)) gaveUp.push(failure.value.message)
        yield* jitter
      }
      expect(gaveUp).toEqual([])
    }).pipe(Effect.provide(UnixConnector.layer)), 60_000)
})

// Permissions as the kernel judges them for a connect: with the effective uid and gid and the
// supplementary groups. The ids are lowered in this process (tests run as root) around a
// synchronous connect and walk only, so nothing else runs with them; the real uid stays 0, which
// is what access(2) would have judged by.
const canLower = process.getuid?.() === 0 && typeof process.seteuid === "function" && isMainThread
const caller = { uid: 1001, gid: 1001, groups: [1001, 1002] }
const owners = [
  ["the caller", caller.uid],
  ["someone else", 1003]
] as const
const groups = [
  ["the caller's group", caller.gid],
  ["a supplementary group", 1002],
  ["another group", 1004]
] as const

const as = <A>(ids: typeof caller, f: () => A): A => {
  const saved = process.getgroups!()
  process.setgroups!(ids.groups)
  process.setegid!(ids.gid)
  process.seteuid!(ids.uid)
  try {
    return f()
  } finally {
    process.seteuid!(0)
    process.setegid!(0)
    process.setgroups!(saved)
  }
}

// The kernel's errno for a connect to `path`, and the walk's diagnosis of it, under `ids`.
const connectAndWalk = (path: string, ids: typeof caller) =>
  as(ids, () => {
    const fd = binding.socket(c.AF_UNIX, c.SOCK_STREAM)
    const rc = binding.connect(fd, sockAddr(path))
    binding.close(fd)
    const errno = Errno.nameOf(-rc, Errno.currentPlatform) ?? String(rc)
    const error = ConnectError.fromErrno(errno, { kind: "unix", syscall: "connect", address: `unix://${path}`, platform: Errno.currentPlatform })
    return Effect.runSync(UnixConnector.diagnose(path, error))
  })

describe("permissions, judged with the ids the kernel's connect uses", () => {
  it.live.skipIf(!canLower)(
    `every owner, group and mode bit of the socket file and its directory: the walk finds what the kernel refused${
      canLower ? "" : " (skipped: needs root, in a process of its own)"
    }`,
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        chmodSync(dir, 0o755)
        const results: Array<{ readonly errno: string; readonly expected: unknown; readonly error: ConnectError.ConnectError }> = []
        let n = 0
        for (const [, owner] of owners) {
          for (const [, group] of groups) {
            for (let bits = 0; bits < 8; bits++) {
              // The socket file's write bits (owner, group, others), in a directory anybody may search.
              const open = join(dir, `w${n}`)
              mkdirSync(open, 0o777)
              chmodSync(open, 0o777)
              const socket = join(open, "s.sock")
              staleSocket(socket)
              chownSync(socket, owner, group)
              chmodSync(socket, 0o444 | ((bits & 4) << 5) | ((bits & 2) << 3) | ((bits & 1) << 1))
              // The directory's search bits, with a socket file anybody may write to.
              const locked = join(dir, `x${n++}`)
              mkdirSync(locked)
              const inside = join(locked, "s.sock")
              staleSocket(inside)
              chmodSync(inside, 0o777)
              chownSync(locked, owner, group)
              chmodSync(locked, 0o666 | ((bits & 4) << 4) | ((bits & 2) << 2) | (bits & 1))
              for (const [path, component, problem] of [[socket, socket, "write-denied"], [inside, locked, "search-denied"]] as const) {
                const error = connectAndWalk(path, caller) as ConnectError.ErrnoError
                results.push({
                  errno: error.errno,
                  error,
                  expected: error.errno === "EACCES"
                    ? { transient: false, diagnosis: { component, problem } }
                    : { errno: "ECONNREFUSED", transient: true, diagnosis: { component: path, problem: "stale-socket" } }
                })
              }
            }
          }
        }
        for (const { error, expected } of results) expect(error, error.message).toMatchObject(expected as object)
        // Both answers came up, for the socket file and for the directory.
        expect(results.filter((r) => r.errno === "EACCES").length).toBeGreaterThan(20)
        expect(results.filter((r) => r.errno === "ECONNREFUSED").length).toBeGreaterThan(20)
      })
  )
})
