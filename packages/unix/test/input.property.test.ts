// The unix package under hostile input, as configuration and untyped callers hand it over: every
// call is a typed failure naming what was wrong (InvalidAddress with its field, NameTooLong with
// the limit, a diagnosed errno) or the exact address or connection; never a defect, never a sync
// throw, no fd left over, nothing left in the directory, and the long-path detour's
// /proc/self/fd path never shown.
import { fc, test } from "@fast-check/vitest"
import { Address, ConnectError, Connector } from "@effect-connect/core"
import { Cause, Effect, Exit, Scope } from "effect"
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, dirname, join } from "node:path"
import { afterAll, beforeAll, describe, expect } from "vitest"
import { UnixAddress, UnixConnector } from "@effect-connect/unix"
import { hostileText, hostileValue, runs } from "../../core/test/arbitraries.js"
import { fdCount, listening } from "../../native/test/support.js"

const scope = Effect.runSync(Scope.make())
let dir = ""
let entries: ReadonlyArray<string> = []

// A listener at a path longer than sun_path, which no bind takes as such (Node 24 on says EINVAL;
// Node 20 and 22 cut it short and bound another file): bound through /proc/self/fd/<its
// directory>, a short path to the same file, while the directory is held open. Linux, as fdCount.
const listeningLong = (path: string) =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.sync(() => openSync(dirname(path), constants.O_RDONLY | constants.O_DIRECTORY)),
      (fd) => Effect.sync(() => closeSync(fd))
    ),
    (fd) => listening(`/proc/self/fd/${fd}/${basename(path)}`)
  )

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ec-unix-prop-"))
  writeFileSync(join(dir, "file"), "")
  symlinkSync(join(dir, "b"), join(dir, "a"))
  symlinkSync(join(dir, "a"), join(dir, "b"))
  // A directory whose listener is reached only through the long-path detour.
  mkdirSync(join(dir, "d".repeat(UnixAddress.limit)))
  const long = join(dir, "d".repeat(UnixAddress.limit), "l")
  expect(UnixAddress.isTooLong(long)).toBe(true)
  await Effect.runPromise(Effect.all([listening(join(dir, "l")), listeningLong(long)]).pipe(Scope.provide(scope)))
  expect(readdirSync(dirname(long))).toEqual(["l"])
  entries = readdirSync(dir).sort()
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const junk = fc.oneof(
  hostileValue,
  fc.anything(),
  fc.constantFrom(null, undefined, NaN, -1, 1.5, 2 ** 53, "", "x".repeat(10_000), Symbol("t"), Object.create(null), () => "/x")
)

// The outcome of a call that returns an Effect: a sync throw or a defect fails the test.
const settle = async <A>(call: () => Effect.Effect<A, unknown, Scope.Scope>) => {
  let effect: Effect.Effect<A, unknown, Scope.Scope>
  try {
    effect = call()
  } catch (e) {
    throw new Error(`threw synchronously: ${String(e)}`)
  }
  const exit = await Effect.runPromiseExit(Effect.scoped(effect).pipe(Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("hung") })))
  if (Exit.isSuccess(exit)) return { ok: exit.value }
  const error = Cause.findErrorOption(exit.cause)
  expect(error._tag, Cause.pretty(exit.cause)).toBe("Some")
  return { error: error._tag === "Some" ? error.value as ConnectError.ConnectError : undefined }
}

describe("UnixAddress under hostile input", () => {
  test.prop([junk], runs)("path and abstract: a value that is no string is InvalidAddress naming the field", async (value) => {
    fc.pre(typeof value !== "string")
    expect((await settle(() => UnixAddress.path(value as string))).error).toMatchObject({
      _tag: "InvalidAddress", field: "path", reason: `must be a string, got ${typeof value}`
    })
    if (process.platform === "linux") {
      expect((await settle(() => UnixAddress.abstract(value as string))).error).toMatchObject({ _tag: "InvalidAddress", field: "name" })
    }
    expect(UnixAddress.isTooLong(value as string)).toBe(false)
  })
})

// Paths: through a regular file, a symlink loop, long and very long, relative, ill-formed, ours.
const path = fc.oneof(
  fc.constantFrom("l", "missing", "file/x", "a/x", `${"d".repeat(UnixAddress.limit)}/l`, `${"d".repeat(UnixAddress.limit)}/none`, "x".repeat(200), "x".repeat(10_000))
    .map((name) => join(dir, name)),
  hostileText.map((text) => `${dir}/${text}`),
  hostileText,
  fc.constantFrom("", "\u0000", "/\u0000", "/tmp/\uD800", "relative/x.sock")
)
const address = fc.oneof({ weight: 4, arbitrary: path.map((p) => Address.unix(p)) }, { weight: 1, arbitrary: junk })
const layerOptions = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, {}, { longPaths: "fail" as const }, { longPaths: "via-directory" as const }) },
  { weight: 1, arbitrary: junk },
  { weight: 1, arbitrary: junk.map((longPaths) => ({ longPaths })) }
)
const connectOptions = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(undefined, {}, { timeout: "2 seconds" }) }, { weight: 1, arbitrary: junk })
const valid = (options: unknown) =>
  options === undefined || (typeof options === "object" && options !== null &&
    [undefined, "fail", "via-directory"].includes((options as { longPaths?: unknown }).longPaths as string))

describe("UnixConnector under hostile input", () => {
  const seen = new Set<string>()
  afterAll(() => {
    // The arbitraries and the fixed cases reach connections, diagnoses and every kind of refusal.
    for (const tag of ["ok", "NotFound", "NotADirectory", "SymlinkLoop", "ConnectionRefused", "NameTooLong", "InvalidAddress"]) expect(seen).toContain(tag)
  })

  // One connect, checked: typed failure or the exact address, no fd or file left over. Says
  // what came of it ("ok" or the error's tag).
  const connectChecked = async (options: unknown, target: unknown, connectOpts: unknown) => {
    const before = fdCount()
    const result = await settle(() =>
      Effect.map(Connector.connect(target as Address.Address, connectOpts as Connector.ConnectOptions), (c) => c.remote).pipe(
        Effect.provide(UnixConnector.layerWith(options as UnixConnector.Options))
      )
    )
    expect(fdCount(), "fds left over").toBe(before)
    expect(readdirSync(dir).sort()).toEqual(entries)
    const outcome = "ok" in result ? "ok" : result.error!._tag
    seen.add(outcome)
    if ("ok" in result) {
      expect(result.ok).toEqual(target)
      return outcome
    }
    expect(ConnectError.isConnectError(result.error)).toBe(true)
    expect(JSON.stringify(result.error)).not.toContain("/proc/self/fd")
    if (!valid(options)) {
      expect(result.error).toMatchObject({ _tag: "InvalidAddress", field: "option", reason: expect.stringMatching(/^UnixConnector (options|longPaths) must be /) })
    }
    return outcome
  }

  test.prop([layerOptions, address, connectOptions], runs)(
    "layerWith(options) connect(address, options): typed failure or the exact address; no fd or file left over",
    async (options, target, connectOpts) => {
      await connectChecked(options, target, connectOpts)
    }
  )

  // Each outcome at least once whatever the random runs draw (they missed one now and then), and
  // the one each of these paths must have.
  test("layerWith(options) connect(address): each outcome from a fixed case", async () => {
    const long = join(dir, "d".repeat(UnixAddress.limit), "l")
    const cases = [
      [{}, join(dir, "l"), "ok"],
      [{ longPaths: "via-directory" }, long, "ok"],
      [{ longPaths: "via-directory" }, join(dir, "d".repeat(UnixAddress.limit), "none"), "NotFound"],
      [{}, long, "NameTooLong"],
      [{}, join(dir, "missing"), "NotFound"],
      [{}, join(dir, "file", "x"), "NotADirectory"],
      [{}, join(dir, "a", "x"), "SymlinkLoop"],
      [{}, join(dir, "file"), "ConnectionRefused"],
      [{}, "relative/x.sock", "InvalidAddress"]
    ] as const
    for (const [options, path, outcome] of cases) {
      expect(await connectChecked(options, Address.unix(path), undefined), path).toBe(outcome)
    }
  })

  test.prop([junk, junk], runs)("diagnose(path, error): the error as it was unless it is ours to rebuild; never fails", async (p, error) => {
    const result = await settle(() => UnixConnector.diagnose(p as string, error))
    expect(result).toEqual({ ok: error })
  })
})

describe("UnixConnector: what it says", () => {
  const connect = (options: unknown, target: unknown, connectOpts?: unknown) =>
    settle(() =>
      Connector.connect(target as Address.Address, connectOpts as Connector.ConnectOptions).pipe(
        Effect.provide(UnixConnector.layerWith(options as UnixConnector.Options))
      )
    )
  const sock = () => Address.unix(join(dir, "l"))

  test("junk layer options: every connect's InvalidAddress naming them", async () => {
    expect((await connect(null, sock())).error).toMatchObject({
      _tag: "InvalidAddress", input: Address.format(sock()), field: "option", reason: "UnixConnector options must be an object, got null"
    })
    expect((await connect({ longPaths: "via-dir" }, sock())).error).toMatchObject({
      _tag: "InvalidAddress", field: "option", reason: `UnixConnector longPaths must be "fail" or "via-directory", got "via-dir"`
    })
  })

  test("a null address: InvalidAddress, as the inner connector says", async () => {
    expect((await connect({}, null)).error).toMatchObject({ _tag: "InvalidAddress", field: "family", input: "null" })
  })

  test("an InvalidAddress on the long-path detour shows the path asked for, not /proc/self/fd", async () => {
    const long = Address.unix(join(dir, "d".repeat(UnixAddress.limit), "l"))
    expect((await connect({ longPaths: "via-directory" }, long, null)).error).toMatchObject({
      _tag: "InvalidAddress", input: Address.format(long), field: "option", reason: "options must be an object, got null"
    })
  })

  test("diagnose: an error without our fields is returned as it was", async () => {
    for (const foreign of [{ errno: "ENOENT", syscall: "connect" }, { errno: "ENOENT", syscall: "bogus", address: "x" }, { errno: "ELOOP", syscall: "connect", address: 5 }]) {
      expect(await settle(() => UnixConnector.diagnose(join(dir, "missing"), foreign))).toEqual({ ok: foreign })
    }
  })
})
