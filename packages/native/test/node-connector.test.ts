// NodeConnector, the connector on node:net: the kernel recipes that matter, each asserted exactly
// and equal to what NativeConnector gives for the same recipe; the options it cannot honour,
// refused by name; the ownership of its net.Socket.
import { Address, Connector } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import * as EffectSocket from "effect/socket/Socket"
import { closeSync, writeFileSync } from "node:fs"
import { createServer, Socket } from "node:net"
import { constants } from "node:os"
import { join } from "node:path"
import { loadedBinding } from "../src/internal/binding.js"
import { content, fdCount, listening, ownPort, reopenAs, tempDir } from "./support.js"

const binding = loadedBinding()

const echo = (s: Socket) => s.pipe(s)

// What both connectors must agree on.
const pick = (e: unknown) => {
  const { _tag, errno, code, syscall, address, transient, source, scope, field, input, reason, limit } = e as Record<string, unknown>
  return { _tag, errno, code, syscall, address, transient, source, scope, field, input, reason, limit }
}

// The same failing connect through each connector: NodeConnector's error, and NativeConnector's.
const both = <E>(connect: Effect.Effect<unknown, E, Connector.Connector | Scope.Scope>) =>
  Effect.gen(function*() {
    const node = yield* Effect.scoped(Effect.flip(connect)).pipe(Effect.provide(NodeConnector.layer))
    const native = yield* Effect.scoped(Effect.flip(connect)).pipe(Effect.provide(NativeConnector.layer))
    expect(pick(node)).toEqual(pick(native))
    return node
  })

// The fd count back at `before`: a peer's end closes when it reads our FIN.
const settled = (before: number) =>
  Effect.sleep("10 millis").pipe(
    Effect.repeat({ until: () => fdCount() <= before, times: 100 }),
    Effect.andThen(Effect.sync(() => expect(fdCount()).toBe(before)))
  )

// A unix socket file with nobody listening: bound, never listened on.
const staleSocket = (path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const c = binding.constants
      const fd = binding.socket(c.AF_UNIX, c.SOCK_STREAM)
      if (binding.bind(fd, { family: c.AF_UNIX, address: new TextEncoder().encode(path), port: 0 }) < 0) throw new Error(`bind ${path}`)
      return fd
    }),
    (fd) => Effect.sync(() => binding.close(fd))
  )

// A black hole on loopback: a listener that never accepts, its backlog filled.
const blackHole = Effect.gen(function*() {
  const port = yield* ownPort("stuck")
  const to = Address.tcp("127.0.0.1", port)
  for (let i = 0; i < 2; i++) yield* Effect.result(Effect.scoped(Connector.connect(to, { timeout: "300 millis" })))
  return to
}).pipe(Effect.provide(NativeConnector.layer))

describe("NodeConnector: the kernel recipes, equal to NativeConnector's", () => {
  it.live("refused on loopback: ConnectionRefused", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const error = yield* both(Connector.connect(Address.tcp("127.0.0.1", port)))
      expect(error).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect",
        address: `tcp://127.0.0.1:${port}`, transient: true
      })
    }))

  it.live("a unix socket missing: NotFound; a stale one: ConnectionRefused; a path too long: NameTooLong", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const missing = join(dir, "missing.sock")
      expect(yield* both(Connector.connect(Address.unix(missing)))).toMatchObject({
        _tag: "NotFound", errno: "ENOENT", code: 2, syscall: "connect", address: `unix://${missing}`, transient: true
      })
      const stale = join(dir, "stale.sock")
      yield* staleSocket(stale)
      expect(yield* both(Connector.connect(Address.unix(stale)))).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect", address: `unix://${stale}`, transient: true
      })
      const long = `/tmp/${"a".repeat(104)}`
      expect(yield* both(Connector.connect(Address.unix(long)))).toMatchObject({
        _tag: "NameTooLong", errno: "ENAMETOOLONG", syscall: "connect", address: `unix://${long}`, limit: 108, transient: false
      })
    }))

  it.live("a unix socket that listens: connected, unnamed local end, the socket's fd", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      yield* listening(path, echo)
      const connection = yield* Connector.connect(Address.unix(path))
      expect(connection.remote).toEqual(Address.unix(path))
      expect(connection.local).toEqual(Address.unix(""))
      const socket = connection.toNodeSocket()
      expect(connection.fd).toBe((socket as unknown as { _handle: { fd: number } })._handle.fd)
      expect(connection.fd).toBeGreaterThan(2)
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("a name: resolved and raced by core, connected over node:net", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const connection = yield* Connector.connect(Address.tcp("localhost", port))
      expect(["127.0.0.1", "::1"]).toContain((connection.remote as Address.Tcp).host)
      expect(connection.remote).toMatchObject({ _tag: "Tcp", port })
      expect(connection.local).toMatchObject({ _tag: "Tcp", host: (connection.remote as Address.Tcp).host })
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("abstract names (Linux): connected to a listener, ConnectionRefused without one", () =>
    Effect.gen(function*() {
      const name = `ec-node-connector-${process.pid}`
      yield* listening(`\0${name}`)
      const connection = yield* Connector.connect(Address.abstract(name))
      expect(connection.remote).toEqual(Address.abstract(name))
      const none = Address.abstract(`${name}-none`)
      expect(yield* both(Connector.connect(none))).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect", address: Address.format(none)
      })
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("a black hole (SYNs dropped by a full backlog on loopback, no namespace needed): TimedOut from the per-attempt timeout", () =>
    Effect.gen(function*() {
      const to = yield* blackHole
      const before = fdCount()
      const error = yield* both(Connector.connect(to, { timeout: "200 millis" }))
      expect(error).toMatchObject({
        _tag: "TimedOut", errno: "ETIMEDOUT", code: 110, syscall: "connect", source: "deadline", scope: "attempt",
        elapsed: 200, address: Address.format(to), transient: true
      })
      yield* settled(before)
    }), 20_000)

  it.live("a local address not on this host: AddressNotAvailable from bind, permanent", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const error = yield* both(Connector.connect(Address.tcp("127.0.0.1", port), { local: { host: "203.0.113.1" } }))
      expect(error).toMatchObject({
        _tag: "AddressNotAvailable", errno: "EADDRNOTAVAIL", code: 99, syscall: "bind",
        address: `tcp://127.0.0.1:${port}`, transient: false
      })
    }))

  it("Node's errors through core's table: a number it lacks keeps its name, a code with no number is kept", () => {
    const to = Address.tcp("127.0.0.1", 1)
    const exdev = Object.assign(new Error("x"), { errno: -constants.errno.EXDEV, code: "EXDEV", syscall: "connect" })
    expect(NodeConnector.fromNodeError(exdev, to, {})).toMatchObject({
      _tag: "UnknownErrno", errno: "EXDEV", code: constants.errno.EXDEV, syscall: "connect", address: "tcp://127.0.0.1:1", transient: false
    })
    const closed = Object.assign(new Error("x"), { code: "ERR_SOCKET_CLOSED" })
    expect(NodeConnector.fromNodeError(closed, to, {})).toMatchObject({
      _tag: "UnknownErrno", errno: "ERR_SOCKET_CLOSED", code: -1, syscall: "connect", transient: false
    })
    const refused = Object.assign(new Error("x"), { errno: -111, code: "ECONNREFUSED", syscall: "connect" })
    expect(NodeConnector.fromNodeError(refused, Address.unix("/x"), {})).toMatchObject({
      _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, address: "unix:///x", transient: true
    })
  })
})

describe("NodeConnector: options", () => {
  it.live.each([
    ["reuseAddress without local", { reuseAddress: true }, "reuseAddress", "libuv sets SO_REUSEADDR only when it binds, so only together with local"],
    ["reuseAddress: false with local", { reuseAddress: false, local: { port: 0 } }, "reuseAddress", "libuv always sets SO_REUSEADDR when it binds to local"],
    ["linux.synRetries", { linux: { synRetries: 1 } }, "linux.synRetries", "node:net cannot set TCP_SYNCNT"],
    ["linux.userTimeout", { linux: { userTimeout: "1 second" } }, "linux.userTimeout", "node:net cannot set TCP_USER_TIMEOUT"]
  ] as const)("%s is refused by name, before any socket", ([, options, option, why]) =>
    Effect.gen(function*() {
      const before = fdCount()
      const error = yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", 1), options as Connector.ConnectOptions))
      expect(error).toMatchObject({
        _tag: "InvalidAddress", input: "tcp://127.0.0.1:1", field: "option",
        reason: `${option} cannot be honoured by NodeConnector: ${why} (NativeConnector can)`, transient: false
      })
      expect(fdCount()).toBe(before)
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("a unix name whose bytes are not UTF-8 is refused: node:net takes paths as UTF-8 text", () =>
    Effect.gen(function*() {
      const path = "/tmp/ec-\udcff.sock"
      expect(yield* Effect.flip(Connector.connect(Address.unix(path)))).toMatchObject({
        _tag: "InvalidAddress", field: "path", input: Address.format(Address.unix(path)),
        reason: "has bytes that are not UTF-8, which node:net cannot pass (it encodes paths as UTF-8): use NativeConnector"
      })
      expect(yield* Effect.flip(Connector.connect(Address.abstract("ec-\udc80")))).toMatchObject({ _tag: "InvalidAddress", field: "name" })
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("what libuv honours is set on the socket: noDelay, keepAlive, local host and port, SO_REUSEADDR with local", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const c = binding.constants
      // A port no socket holds now (a fixed one could be another test's ephemeral port).
      const free = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = createServer().listen(0, "127.0.0.1", () => {
            const { port } = probe.address() as { port: number }
            probe.close(() => resolve(port))
          })
        })
      )
      const local = { host: "127.0.0.1", port: free }
      const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port), { noDelay: true, keepAlive: true, reuseAddress: true, local })
      expect(connection.local).toEqual(Address.tcp("127.0.0.1", local.port))
      expect(connection.remote).toEqual(Address.tcp("127.0.0.1", port))
      expect(binding.getsockoptInt(connection.fd, c.IPPROTO_TCP, c.TCP_NODELAY!)).toBe(1)
      expect(binding.getsockoptInt(connection.fd, c.SOL_SOCKET, c.SO_KEEPALIVE)).toBe(1)
      expect(binding.getsockoptInt(connection.fd, c.SOL_SOCKET, c.SO_REUSEADDR)).toBe(1)
      const plain = yield* Connector.connect(Address.tcp("127.0.0.1", port), { reuseAddress: false })
      expect(binding.getsockoptInt(plain.fd, c.SOL_SOCKET, c.SO_REUSEADDR)).toBe(0)
      expect(binding.getsockoptInt(plain.fd, c.IPPROTO_TCP, c.TCP_NODELAY!)).toBe(0)
    }).pipe(Effect.provide(NodeConnector.layer)))
})

describe("NodeConnector: who owns the socket", () => {
  it.live("toNodeSocket is the net.Socket that connected, every time; toSocket echoes over it; the scope destroys it once; no fd leaks", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const before = fdCount()
      let destroys = 0
      const socket = yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port))
        const socket = connection.toNodeSocket()
        expect(socket).toBeInstanceOf(Socket)
        expect(connection.toNodeSocket()).toBe(socket)
        expect({ remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, readyState: socket.readyState })
          .toEqual({ remoteAddress: "127.0.0.1", remotePort: port, readyState: "open" })
        expect(() => connection.detach()).toThrow(/owned by its net.Socket/)
        const effectSocket = yield* connection.toSocket()
        const pull = yield* EffectSocket.readerString(effectSocket)
        const { write } = yield* effectSocket.writer
        yield* write("ping")
        let got = ""
        while (got.length < 4) got += (yield* pull).join("")
        expect(got).toBe("ping")
        const destroy = socket.destroy.bind(socket)
        socket.destroy = (error?: Error) => {
          destroys++
          return destroy(error)
        }
        return socket
      }))
      expect(socket.destroyed).toBe(true)
      expect(destroys).toBe(1)
      yield* settled(before)
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("the caller destroys the socket, its number goes to a file: the scope's close leaves the file alone; toNodeSocket and local then throw", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const dir = yield* tempDir
      const scope = yield* Scope.make()
      const connection = yield* Scope.provide(Connector.connect(Address.tcp("127.0.0.1", port)), scope)
      connection.toNodeSocket().destroy()
      const file = reopenAs(connection.fd, dir)
      try {
        expect(() => connection.local).toThrow(expect.objectContaining({ _tag: "BadDescriptor", syscall: "getsockname" }))
        yield* Scope.close(scope, Exit.void)
        expect(content(file)).toMatch(/^file \d+$/)
        expect(() => connection.toNodeSocket()).toThrow(/is closed/)
      } finally {
        closeSync(file)
      }
    }).pipe(Effect.provide(NodeConnector.layer)))

  it.live("interruption during the connect destroys the socket: no fd left", () =>
    Effect.gen(function*() {
      const to = yield* blackHole
      const before = fdCount()
      const fiber = yield* Effect.forkChild(Effect.scoped(Connector.connect(to)))
      yield* Effect.sleep("50 millis")
      expect(fdCount()).toBe(before + 1)
      yield* Fiber.interrupt(fiber)
      yield* settled(before)
    }).pipe(Effect.provide(NodeConnector.layer)), 20_000)

  it.live("a refused connect leaves no fd; a regular file at a unix path is ConnectionRefused, as with NativeConnector", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "regular")
      writeFileSync(file, "x")
      const before = fdCount()
      expect(yield* both(Connector.connect(Address.unix(file)))).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED" })
      yield* settled(before)
    }))
})
