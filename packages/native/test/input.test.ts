// Hostile input through the real addon: each case once died, leaked an fd, or reached another
// socket than the one asked for. Now each is a typed error before any syscall where the input
// alone decides it, and the fd count of the process is the same afterwards.
import { Address, ConnectError, Connector } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import { readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Datagram, NativeConnector, Raw } from "@effect-connect/native"
import { loadedBinding } from "../src/internal/binding.js"
import { fdCount, listening, ownPort, rawListener, tempDir } from "./support.js"

const binding = loadedBinding()

const c = binding.constants
const bytesOf = (...parts: Array<string | ReadonlyArray<number>>) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...Buffer.from(p, "utf8")] : [...p])))

// Runs `effect` `times` times, each in its own scope, and says how many fds are left over.
const leftOver = <A, E, R>(times: number, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = fdCount()
    for (let i = 0; i < times; i++) yield* Effect.scoped(Effect.exit(effect))
    return fdCount() - before
  })

// bind(2) of one family's address to the other family's socket fails with EAFNOSUPPORT (IPv4
// socket) or EINVAL (IPv6 socket), whose messages tell of missing IPv6 and blackhole routes: the
// input alone decides it, so it is the option's problem, before socket(2).
describe("a local host of the other family than the address", () => {
  it.effect.each([
    ["127.0.0.1", "::1", 6, 4],
    ["::1", "127.0.0.1", 4, 6],
    ["127.0.0.1", "::ffff:127.0.0.1", 6, 4]
  ] as const)("connect to %s with local.host %s: InvalidAddress, no fd opened", ([remote, host, localVersion, remoteVersion]) =>
    Effect.gen(function*() {
      const to = Address.tcp(remote, 1)
      expect(yield* Effect.flip(Connector.connect(to, { local: { host } }))).toMatchObject({
        _tag: "InvalidAddress", input: Address.format(to), field: "option",
        reason: `local.host ${host} is an IPv${localVersion} address and the address connected to is IPv${remoteVersion}: bind(2) takes a local address of the socket's family`
      })
      expect(yield* leftOver(5, Connector.connect(to, { local: { host } }))).toBe(0)
    }).pipe(Effect.provide(NativeConnector.layer)))
})

describe("zones are looked up as own properties", () => {
  const zones = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]

  it.effect.each(zones)("%s: unknown zone, remote or local, with no fd left over", (zone) =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const remote = Address.tcp(`fe80::1%${zone}`, 80)
      expect(yield* Effect.flip(Connector.connect(remote))).toMatchObject({
        _tag: "InvalidAddress", input: `tcp://[fe80::1%${zone}]:80`, field: "host", reason: `has an unknown zone: ${zone}`
      })
      const local = { local: { host: `fe80::1%${zone}` } }
      expect(yield* Effect.flip(Connector.connect(Address.tcp("::1", port), local))).toMatchObject({
        _tag: "InvalidAddress", input: `tcp://[::1]:${port}`, field: "option", reason: `local.host has an unknown zone: ${zone}`
      })
      expect(yield* leftOver(20, Connector.connect(Address.tcp("::1", port), local))).toBe(0)
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect.each(zones)("%s: Raw and Datagram fail typed, never throw", (zone) =>
    Effect.gen(function*() {
      const address = Address.tcp(`fe80::1%${zone}`, 80)
      const failure = { _tag: "InvalidAddress", field: "host", reason: `has an unknown zone: ${zone}` }
      const s = yield* Raw.socket("inet6", "stream")
      expect(yield* Effect.flip(Raw.connect(s, address))).toMatchObject(failure)
      expect(yield* Effect.flip(Raw.bind(s, address))).toMatchObject(failure)
      expect(yield* Effect.flip(Datagram.make("udp6", { local: address }))).toMatchObject(failure)
      const d = yield* Datagram.make("udp6")
      expect(yield* Effect.flip(d.connect(address))).toMatchObject(failure)
    }))
})

describe("integer options are checked before socket(2)", () => {
  const cases: ReadonlyArray<[string, Connector.ConnectOptions]> = [
    ["linux.synRetries 1.5", { linux: { synRetries: 1.5 } }],
    ["linux.synRetries NaN", { linux: { synRetries: NaN } }],
    ["linux.synRetries 2^40", { linux: { synRetries: 2 ** 40 } }],
    ["linux.synRetries 128", { linux: { synRetries: 128 } }],
    ["linux.userTimeout Infinity", { linux: { userTimeout: Infinity } }],
    ["linux.userTimeout -1", { linux: { userTimeout: -1 } }],
    ["local.port 1.5", { local: { port: 1.5 } }],
    ["keepAlive 2", { keepAlive: 2 as never }]
  ]
  it.effect.each(cases)("%s: InvalidAddress naming the option, no fd left over", ([name, options]) =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const connect = Connector.connect(Address.tcp("127.0.0.1", port), options)
      const exit = yield* Effect.scoped(Effect.exit(connect))
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ _tag: "InvalidAddress", field: "option", reason: expect.stringContaining(name.split(" ")[0]!) })))
      expect(yield* leftOver(20, connect)).toBe(0)
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("the kernel's range ends are accepted: synRetries 1 and 127, userTimeout 0 and 2^31-1 ms", () =>
    Effect.gen(function*() {
      const port = yield* rawListener("inet", { family: c.AF_INET, address: "127.0.0.1", port: 0 })
      for (const linux of [{ synRetries: 1, userTimeout: 0 }, { synRetries: 127, userTimeout: 2 ** 31 - 1 }]) {
        const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port), { linux })
        expect(connection.remote).toEqual(Address.tcp("127.0.0.1", port))
      }
    }).pipe(Effect.provide(NativeConnector.layer)))
})

describe("hosts that getaddrinfo would read as another address never reach it", () => {
  it.effect.each(["0x7f.1", "0x7f000001", "0x7f.0.0.1", "127.1", "2130706433", "0177.0.0.1"])("%s", (host) =>
    Effect.gen(function*() {
      const server = yield* listening(0, (s) => s.destroy(), "127.0.0.1")
      const port = (server.address() as { port: number }).port
      expect(yield* Effect.flip(Connector.connect(Address.tcp(host, port)))).toMatchObject({
        _tag: "InvalidAddress", field: "host", reason: `is not a dotted quad: ${host} would be read as 127.0.0.1 by inet_aton`
      })
    }).pipe(Effect.provide(NativeConnector.layer)))
})

describe("unix names reach exactly their bytes", () => {
  it.effect("a lone surrogate is refused, not sent to the U+FFFD file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* listening(join(dir, "x\uFFFD"))
      const asked = join(dir, "x\uD800")
      const failure = { _tag: "InvalidAddress", field: "path", reason: `contains a lone surrogate at index ${asked.length - 1}` }
      expect(yield* Effect.flip(Connector.connect(Address.unix(asked)))).toMatchObject(failure)
      const s = yield* Raw.socket("unix", "stream")
      expect(yield* Effect.flip(Raw.connect(s, Address.unix(asked)))).toMatchObject(failure)
      const d = yield* Datagram.make("unix")
      expect(yield* Effect.flip(d.connect(Address.unix(asked)))).toMatchObject(failure)
      expect(yield* Effect.flip(Connector.connect(Address.abstract(`ec-test-${process.pid}-\uDBFF`)))).toMatchObject({
        _tag: "InvalidAddress", field: "name", reason: `contains a lone surrogate at index ${`ec-test-${process.pid}-`.length}`
      })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("a relative path is refused, not resolved against the working directory", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Connector.connect(Address.unix("app.sock")))).toMatchObject({
        _tag: "InvalidAddress", input: "unix:app.sock", field: "path", reason: expect.stringMatching(/^is relative/)
      })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("a path that is not UTF-8: connected as written (U+DC80..U+DCFF), read back by getsockname as it is", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* rawListener("unix", { family: c.AF_UNIX, address: bytesOf(dir, "/", [0xff, 0x2e]), port: 0 })
      const path = `${dir}/\uDCFF.`
      const connection = yield* Connector.connect(Address.unix(path))
      expect(connection.remote).toEqual(Address.unix(path))
      const s = yield* Raw.socket("unix", "stream")
      yield* Raw.bind(s, Address.unix(`${dir}/\uDCFE`))
      expect(yield* Raw.localAddress(s)).toEqual(Address.unix(`${dir}/\uDCFE`))
      const name = `ec-test-${process.pid}-\uDCC3`
      const a = yield* Raw.socket("unix", "stream")
      yield* Raw.bind(a, Address.abstract(name))
      expect(yield* Raw.localAddress(a)).toEqual(Address.abstract(name))
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("two datagram senders whose names differ only in bytes that are not UTF-8 stay two, and a reply reaches each", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const receiver = yield* Datagram.make("unix", { local: Address.unix(join(dir, "r")) })
      const sa = { family: c.AF_UNIX, address: bytesOf(dir, "/r"), port: 0 }
      const senders = yield* Effect.acquireRelease(
        Effect.sync(() =>
          [0xfe, 0xff].map((byte) => {
            const fd = binding.socket(c.AF_UNIX, c.SOCK_DGRAM)
            expect(binding.bind(fd, { family: c.AF_UNIX, address: bytesOf(dir, "/s", [byte]), port: 0 })).toBe(0)
            expect(binding.sendto(fd, bytesOf("hello"), sa)).toBe(5)
            return fd
          })
        ),
        (fds) => Effect.sync(() => fds.forEach((fd) => binding.close(fd)))
      )
      const from = Array.from(yield* Stream.runCollect(Stream.take(receiver.receive, 2)), (m) => m.from)
      expect(from).toEqual([Address.unix(`${dir}/s\uDCFE`), Address.unix(`${dir}/s\uDCFF`)])
      for (const [i, peer] of from.entries()) {
        yield* receiver.connect(peer as Address.UnixPath)
        yield* receiver.send(bytesOf(`to ${i}`))
        const got = binding.recvfrom(senders[i]!, 16)
        expect(typeof got === "number" ? got : Buffer.from(got.data).toString()).toBe(`to ${i}`)
      }
    }))
})

describe("values that are not addresses or bytes, from JavaScript or configuration", () => {
  const notAddresses: ReadonlyArray<unknown> = [null, undefined, 5, "tcp://127.0.0.1:1", {}, { _tag: "Nope" }, { _tag: "__proto__" }]

  it.effect.each(notAddresses)("%j: InvalidAddress { field: family } from connect, Datagram and Raw, no fd left over", (value) =>
    Effect.gen(function*() {
      const failure = { _tag: "InvalidAddress", field: "family", reason: expect.stringMatching(/^must be an Address/) }
      const notAddress = value as Address.Tcp
      expect(yield* Effect.flip(Connector.connect(notAddress))).toMatchObject(failure)
      expect(yield* Effect.flip(Effect.flatMap(Datagram.make("udp4"), (d) => d.connect(notAddress)))).toMatchObject(failure)
      expect(yield* Effect.flip(Effect.flatMap(Raw.socket("inet", "stream"), (s) => Raw.connect(s, notAddress)))).toMatchObject(failure)
      // An undefined `local` is no local address at all.
      if (value !== undefined) {
        expect(yield* Effect.flip(Datagram.make("udp4", { local: notAddress }))).toMatchObject(failure)
        expect(yield* leftOver(5, Datagram.make("udp4", { local: notAddress }))).toBe(0)
      }
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect.each([null, 5, "x"])("Datagram.make options %j: InvalidAddress { field: option }, no socket made", (options) =>
    Effect.gen(function*() {
      const before = fdCount()
      expect(yield* Effect.flip(Datagram.make("udp4", options as unknown as Datagram.Options))).toMatchObject({
        _tag: "InvalidAddress", field: "option", reason: `options must be an object, got ${ConnectError.shown(options)}`
      })
      expect(fdCount()).toBe(before)
    }))

  it.effect("data that is not bytes is typed, not the binding's TypeError", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const d = yield* Datagram.make("udp4")
      yield* d.connect(Address.tcp("127.0.0.1", port))
      expect(yield* Effect.flip(d.send("text" as unknown as Uint8Array))).toMatchObject({
        _tag: "InvalidAddress", field: "option", reason: `data must be a Uint8Array, got "text"`
      })
    }))
})

describe("Raw.openDirectory (node:fs, no addon)", () => {
  it.live("a directory handle: paths beneath it through /proc/self/fd, closed with its scope; errnos for anything else", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(join(dir, "file"), "")
      const before = fdCount()
      yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* Raw.openDirectory(dir)
        if (process.platform === "linux") expect(readdirSync(`/proc/self/fd/${handle}`)).toEqual(["file"])
        expect(fdCount()).toBe(before + 1)
      }))
      expect(fdCount()).toBe(before)
      const failure = (path: string) => Effect.flip(Effect.scoped(Raw.openDirectory(path)))
      expect(yield* failure(join(dir, "file"))).toMatchObject({ _tag: "NotADirectory", errno: "ENOTDIR", syscall: "open", address: join(dir, "file") })
      expect(yield* failure(join(dir, "missing"))).toMatchObject({ _tag: "NotFound", errno: "ENOENT", syscall: "open" })
      expect(yield* failure("a\0b")).toMatchObject({ errno: "EINVAL", syscall: "open" })
      expect(fdCount()).toBe(before)
    }))
})
