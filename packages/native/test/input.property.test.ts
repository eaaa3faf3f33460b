// Properties of the real connector under hostile input: each run is a typed failure or a
// connection to exactly the address asked for, within a bound, with the process's fd count the
// same afterwards. Only loopback and this test's own listeners are ever dialed: a valid address
// elsewhere is not generated (ports) or skipped (hosts), and names resolve from a static table.
import { fc, test } from "@fast-check/vitest"
import { Address, ConnectError, Connector, Resolver } from "@effect-connect/core"
import { Cause, Effect, Exit, Layer, Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect } from "vitest"
import { Datagram, NativeConnector, Raw } from "@effect-connect/native"
import { loadedBinding } from "../src/internal/binding.js"
import { hostileHost, hostileNumber, hostileText, hostileValue, runs } from "../../core/test/arbitraries.js"
import { fdCount, ownPort, rawListener } from "./support.js"

const binding = loadedBinding()

const c = binding.constants
const prefix = `ec-test-${process.pid}-`
const scope = Effect.runSync(Scope.make())
// Unix listeners (paths in the test's directory, and abstract names): "l", and the name a lossy
// encoder would turn a lone surrogate into.
const unixListeners = ["l", "\uFFFD"]
let dir = ""
let listenerPort = 0
let refusingPort = 0

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ec-prop-"))
  ;[listenerPort, refusingPort] = await Effect.runPromise(Scope.provide(Effect.all([
    rawListener("inet", { family: c.AF_INET, address: "127.0.0.1", port: 0 }),
    ownPort("refusing"),
    ...unixListeners.flatMap((name) => [
      rawListener("unix", { family: c.AF_UNIX, address: Buffer.from(join(dir, name)), port: 0 }),
      rawListener("unix", { family: c.AF_UNIX, address: Buffer.from(`\0${prefix}${name}`), port: 0 })
    ])
  ]), scope))
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dir, { recursive: true, force: true })
})

const connector = NativeConnector.layerWithoutResolver.pipe(Layer.provide(Resolver.layerStatic({ "db.test": ["127.0.0.1"] })))

// Outcomes per property: each must see connections and failures of more than one kind, or its
// arbitraries are not reaching the syscalls.
const outcomes: Record<string, Set<string>> = { hosts: new Set(), options: new Set(), unix: new Set() }

// One connect in its own scope: the fd count before and after, and the outcome.
const attempt = async (property: string, address: Address.Address, options?: Connector.ConnectOptions) => {
  const before = fdCount()
  const exit = await Effect.runPromiseExit(
    Effect.scoped(Effect.map(Connector.connect(address, options), (connection) => connection.remote)).pipe(
      Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.fail("hung" as const) }),
      Effect.provide(connector)
    )
  )
  expect(fdCount(), "fds left over").toBe(before)
  outcomes[property]!.add(Exit.isSuccess(exit) ? "ok" : Cause.findErrorOption(exit.cause).pipe((e) => (e._tag === "Some" ? (e.value as { _tag: string })._tag : "none")))
  if (Exit.isSuccess(exit)) {
    // A name's connection is to the address the resolver gave (the static table's only one).
    const named = address._tag === "Tcp" && Address.ipVersion(address) === undefined
    expect(exit.value).toEqual(named ? Address.tcp("127.0.0.1", address.port) : address)
  } else {
    const error = Cause.findErrorOption(exit.cause)
    expect(error._tag === "Some" && ConnectError.isConnectError(error.value), Cause.pretty(exit.cause)).toBe(true)
  }
  return exit
}

const isLoopback = (host: string) =>
  /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1" || /^::ffff:127\.\d+\.\d+\.\d+$/.test(host)

// Ports: ours (listening, or refusing), or a number no connect may use.
const port = fc.oneof(
  fc.constant("listening" as const),
  fc.constant("refusing" as const),
  hostileNumber.filter((n) => !(Number.isInteger(n) && n >= 1 && n <= 65535))
)
const portOf = (p: number | "listening" | "refusing") => (p === "listening" ? listenerPort : p === "refusing" ? refusingPort : p)

describe("NativeConnector under hostile input", () => {
  test.prop([hostileHost, port], runs)("tcp hosts: typed failure or the exact address; no fd left over", async (host, p) => {
    const address = Address.tcp(host, portOf(p))
    // Only loopback literals and names (from the static table) may reach a syscall.
    fc.pre(Address.problem(address) !== undefined || Address.ipVersion(address) === undefined || isLoopback(host))
    await attempt("hosts", address)
  })

  // Mostly valid values, so that connections happen too, with a hostile one now and then.
  const or = <A>(valid: fc.Arbitrary<A>) => fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostileValue })
  const options = fc.record({
    noDelay: or(fc.boolean()),
    keepAlive: or(fc.boolean()),
    reuseAddress: or(fc.boolean()),
    linux: or(fc.record({
      synRetries: or(fc.integer({ min: 1, max: 127 })),
      userTimeout: or(fc.oneof(fc.integer({ min: 0, max: 60000 }), fc.constantFrom("1 second", "0 millis")))
    }, { requiredKeys: [] })),
    local: or(fc.record({
      host: fc.oneof(hostileHost, fc.constantFrom("127.0.0.1", "127.0.0.2", "::1", "0.0.0.0")),
      port: or(fc.constant(0))
    }, { requiredKeys: [] }))
  }, { requiredKeys: [] })
  test.prop([options, fc.constantFrom("listening" as const, "refusing" as const)], runs)(
    "options: typed failure or the exact address; no fd left over",
    async (options, p) => {
      await attempt("options", Address.tcp("127.0.0.1", portOf(p)), options as Connector.ConnectOptions)
    }
  )

  test.prop([fc.oneof(hostileText, fc.constantFrom(...unixListeners, "\uD800", "\uDFFF")), fc.constantFrom("path", "relative", "abstract")], runs)(
    "unix paths and abstract names: typed failure or the exact address; no fd left over",
    async (text, kind) => {
      // A path stays inside this test's directory and names a listener only by its exact text: no
      // `..`, and no `.` or empty component (`dir//x` and `dir/./x` are `dir/x` to the kernel).
      fc.pre(kind === "abstract" || !text.split("/").some((c) => c === ".." || c === "." || c === ""))
      const address = kind === "path" ? Address.unix(`${dir}/${text}`)
        : kind === "relative" ? Address.unix(text)
        : Address.abstract(`${prefix}${text}`)
      const exit = await attempt("unix", address)
      // Connected only to a listener by its exact name.
      if (Exit.isSuccess(exit)) expect(kind !== "relative" && unixListeners.includes(text)).toBe(true)
    }
  )

  // Datagram connect(2) sends nothing and bind(2) only claims a name, so any loopback port will
  // do here; unix paths stay in the test's directory, abstract names carry the test's prefix.
  const dialable = fc.oneof(
    fc.tuple(hostileHost, hostileNumber).map(([host, p]) => Address.tcp(host, p)),
    hostileText.filter((t) => !t.split("/").includes("..")).map((t) => Address.unix(`${dir}/${t}`)),
    hostileText.map((t) => Address.unix(t)),
    hostileText.map((t) => Address.abstract(`${prefix}${t}`))
  )
  test.prop([dialable, fc.constantFrom("udp4" as const, "udp6" as const, "unix" as const)], runs)(
    "Raw.bind and Datagram (make with local, connect): typed failure or success; no throw, no fd left over",
    async (address, family) => {
      fc.pre(address._tag !== "Tcp" || Address.problem(address, "local") !== undefined || Address.ipVersion(address) === undefined || isLoopback(address.host))
      const before = fdCount()
      const exits = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const d = yield* Datagram.make(family)
        const s = yield* Raw.socket(family === "udp4" ? "inet" : family === "udp6" ? "inet6" : "unix", "datagram")
        return [
          yield* Effect.exit(d.connect(address)),
          yield* Effect.exit(Raw.bind(s, address)),
          yield* Effect.exit(Effect.scoped(Effect.asVoid(Datagram.make(family, { local: address }))))
        ]
      })))
      expect(fdCount(), "fds left over").toBe(before)
      const relative = address._tag === "UnixPath" && !address.path.startsWith("/")
      for (const exit of exits) {
        expect(relative && Exit.isSuccess(exit), "a relative path was used").toBe(false)
        if (Exit.isFailure(exit)) {
          const error = Cause.findErrorOption(exit.cause)
          expect(error._tag === "Some" && ConnectError.isConnectError(error.value), Cause.pretty(exit.cause)).toBe(true)
        }
      }
    }
  )

  test("each property reached connections, refusals and input errors", () => {
    expect(outcomes.hosts).toEqual(new Set(["ok", "ConnectionRefused", "InvalidAddress", "HostNotFound"]))
    for (const name of ["options", "unix"]) {
      expect([...outcomes[name]!].filter((o) => ["ok", "InvalidAddress"].includes(o)), name).toEqual(expect.arrayContaining(["ok", "InvalidAddress"]))
    }
  })
})

describe("Raw under hostile descriptors", () => {
  const junkFd = fc.oneof(hostileValue, fc.anything(), fc.constantFrom(NaN, 1.5, -1, 2 ** 31, 2 ** 40, "3", null, undefined, Symbol("fd")))
  const calls: Record<string, (s: number) => Effect.Effect<unknown, unknown>> = {
    connect: (s) => Raw.connect(s, Address.tcp("127.0.0.1", refusingPort)),
    bind: (s) => Raw.bind(s, Address.tcp("127.0.0.1", 0)),
    writable: (s) => Effect.timeout(Raw.writable(s), "100 millis"),
    pendingError: (s) => Raw.pendingError(s, Address.tcp("127.0.0.1", refusingPort)),
    localAddress: Raw.localAddress,
    peerAddress: Raw.peerAddress
  }
  test.prop([fc.constantFrom(...Object.keys(calls)), junkFd], runs)(
    "not an int32: InvalidOption fd before any syscall; an int32 is the kernel's answer; never a throw, no fd left over",
    async (name, s) => {
      // Only descriptors that cannot be open here reach the kernel: a low number may be one of ours.
      fc.pre(!(typeof s === "number" && (s | 0) === s && s >= 0))
      const before = fdCount()
      const exit = await Effect.runPromiseExit(Effect.suspend(() => calls[name]!(s as number)))
      expect(fdCount(), "fds left over").toBe(before)
      expect(Exit.isFailure(exit) && !Cause.hasDies(exit.cause), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "succeeded").toBe(true)
      if (Exit.isSuccess(exit)) return
      const error = Cause.findErrorOption(exit.cause)
      if (typeof s === "number" && (s | 0) === s) expect(error).toMatchObject({ _tag: "Some", value: { _tag: "BadDescriptor", errno: "EBADF" } })
      else {
        expect(error).toMatchObject({ _tag: "Some", value: { _tag: "InvalidOption", option: "fd" } })
        expect(error._tag === "Some" && (error.value as ConnectError.InvalidOption).reason).toMatch(/^must be a file descriptor/)
      }
    }
  )

  test.prop([fc.oneof(junkFd, fc.constantFrom("inet", "inet6", "unix")), fc.oneof(junkFd, fc.constantFrom("stream", "datagram"))], runs)(
    "Raw.socket: a family or type it does not know is InvalidOption family / type, never a socket of another kind",
    async (family, type) => {
      const before = fdCount()
      const exit = await Effect.runPromiseExit(Effect.scoped(Raw.socket(family as Raw.Family, type as Raw.Type)))
      expect(fdCount(), "fds left over").toBe(before)
      const known = ["inet", "inet6", "unix"].includes(family as string) && ["stream", "datagram"].includes(type as string)
      if (known) expect(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toBe(true)
      else {
        expect(Exit.isFailure(exit) && Cause.findErrorOption(exit.cause)).toMatchObject({
          _tag: "Some",
          value: { _tag: "InvalidOption", option: ["inet", "inet6", "unix"].includes(family as string) ? "type" : "family" }
        })
      }
    }
  )

  test("examples: what it says", async () => {
    expect(await Effect.runPromise(Effect.flip(Raw.writable("3" as unknown as number)))).toMatchObject({
      _tag: "InvalidOption",
      option: "fd",
      reason: `must be a file descriptor (a whole number that fits in 32 bits), got "3"`
    })
    expect(await Effect.runPromise(Effect.flip(Raw.localAddress(-1)))).toMatchObject({ _tag: "BadDescriptor", errno: "EBADF", syscall: "getsockname" })
  })
})
