import { Address, Connector, Policy, Resolver } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Schedule } from "effect"
import * as EffectSocket from "effect/socket/Socket"
import { constants } from "node:os"
import { writeFileSync } from "node:fs"
import type { Socket } from "node:net"
import { join } from "node:path"
import { NativeConnector, Raw } from "@effect-connect/native"
import { type Binding, loadedBinding, type SockAddr } from "../src/internal/binding.js"
import { fdCount, listening, ownPort, tempDir } from "./support.js"
import { recordingTracer } from "../../core/test/recording.js"

const binding = loadedBinding()

const echo = (s: Socket) => s.pipe(s)

// A port that was free a moment ago: nothing listens there.
const closedPort = Effect.map(
  Effect.scoped(Effect.map(listening(0, echo), (s) => (s.address() as { port: number }).port)),
  (port) => port
)

describe("NativeConnector over the real kernel", () => {
  it.effect("connects over TCP and hands the fd to a net.Socket that echoes", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port), { noDelay: true, keepAlive: true })
      expect(connection.remote).toEqual(Address.tcp("127.0.0.1", port))
      expect(connection.local._tag).toBe("Tcp")
      expect(connection.fd).toBeGreaterThan(2)
      const socket = connection.toNodeSocket()
      expect(connection.toNodeSocket()).toBe(socket)
      const echoed = yield* Effect.callback<string>((resume) => {
        socket.once("data", (d) => resume(Effect.succeed(d.toString())))
        socket.write("ping")
      })
      expect(echoed).toBe("ping")
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("toSocket: an effect/socket Socket over the fd, echoes, and the scope closes it", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const before = fdCount()
      const echoed = yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port))
        const socket = yield* connection.toSocket()
        const pull = yield* EffectSocket.readerString(socket)
        const { write } = yield* socket.writer
        yield* write("ping")
        // Loopback may hand the echo back in more than one read.
        let got = ""
        while (got.length < 4) got += (yield* pull).join("")
        return got
      }))
      expect(echoed).toBe("ping")
      // Ours is closed with the scope; the server's end closes when it reads the FIN.
      yield* Effect.sleep("10 millis").pipe(Effect.repeat({ until: () => fdCount() <= before, times: 100 }))
      expect(fdCount()).toBe(before)
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("ECONNREFUSED comes out as ConnectionRefused with its fields", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const error = yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", port)))
      expect(error).toMatchObject({
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect",
        address: `tcp://127.0.0.1:${port}`, transient: true
      })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("unix: connects; a missing file is NotFound; a regular file is ConnectionRefused; a long path is NameTooLong", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      yield* listening(path, echo)
      const connection = yield* Connector.connect(Address.unix(path))
      expect(connection.remote).toEqual(Address.unix(path))
      expect(yield* Effect.flip(Connector.connect(Address.unix(join(dir, "none.sock")))))
        .toMatchObject({ _tag: "NotFound", errno: "ENOENT", code: 2, syscall: "connect" })
      writeFileSync(join(dir, "file"), "")
      expect(yield* Effect.flip(Connector.connect(Address.unix(join(dir, "file")))))
        .toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED" })
      expect(yield* Effect.flip(Connector.connect(Address.unix(join(dir, "x".repeat(120))))))
        .toMatchObject({ _tag: "NameTooLong", errno: "ENAMETOOLONG", code: 36, limit: 108, transient: false })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.effect("an address object dialed again connects where it says now, also after it was changed (its sockaddr is kept)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      yield* listening(join(dir, "a.sock"), echo)
      const unix = { ...Address.unix(join(dir, "a.sock")) }
      const tcp = { ...Address.tcp("127.0.0.1", port) }
      for (let i = 0; i < 3; i++) {
        expect((yield* Connector.connect(unix)).remote).toEqual(Address.unix(join(dir, "a.sock")))
        expect((yield* Connector.connect(tcp)).remote).toEqual(Address.tcp("127.0.0.1", port))
      }
      // Plain objects: a caller may change one between connects.
      ;(unix as { path: string }).path = join(dir, "none.sock")
      ;(tcp as { port: number }).port = yield* closedPort
      expect(yield* Effect.flip(Connector.connect(unix))).toMatchObject({ _tag: "NotFound", address: `unix://${join(dir, "none.sock")}` })
      expect(yield* Effect.flip(Connector.connect(tcp))).toMatchObject({ _tag: "ConnectionRefused", address: `tcp://127.0.0.1:${tcp.port}` })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live.skipIf(process.platform !== "linux")("a 108-byte path, unterminated in sun_path, connects and is read back exactly; 109 bytes is NameTooLong", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s".repeat(108 - dir.length - 1))
      expect(Buffer.byteLength(path)).toBe(108)
      // net cannot listen there (libuv wants the terminator): the listener is the addon's.
      const c = binding.constants
      const listener = yield* Effect.acquireRelease(Effect.sync(() => binding.socket(c.AF_UNIX, c.SOCK_STREAM)), (fd) => Effect.sync(() => binding.close(fd)))
      expect(binding.bind(listener, { family: c.AF_UNIX, address: Buffer.from(path), port: 0 })).toBe(0)
      expect(binding.listen(listener, 16)).toBe(0)
      expect(yield* Raw.localAddress(listener)).toEqual(Address.unix(path))
      const connection = yield* Connector.connect(Address.unix(path))
      expect(connection.remote).toEqual(Address.unix(path))
      expect(connection.local).toEqual(Address.unix(""))
      expect(yield* Raw.peerAddress(connection.fd)).toEqual(Address.unix(path))
      expect(yield* Effect.flip(Connector.connect(Address.unix(path + "s")))).toMatchObject({
        _tag: "NameTooLong", errno: "ENAMETOOLONG", code: 36, limit: 108, address: `unix://${path}s`, transient: false
      })
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("a retried connect to a port that comes up later succeeds; the failed attempts' fds are closed", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const before = fdCount()
      const fiber = yield* Effect.forkChild(
        Effect.scoped(Effect.map(
          Connector.connect(Address.tcp("127.0.0.1", port)).pipe(Policy.retryTransient(Schedule.spaced("20 millis"))),
          (c) => c.remote
        ))
      )
      yield* Effect.sleep("150 millis")
      expect(fdCount()).toBeLessThanOrEqual(before + 1)
      yield* listening(port, echo)
      expect(yield* Fiber.join(fiber)).toEqual(Address.tcp("127.0.0.1", port))
    }).pipe(Effect.provide(NativeConnector.layer)), 10_000)

  it.live("1000 connects, some interrupted mid-flight, leave the fd count unchanged", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const before = fdCount()
      for (let i = 0; i < 1000; i++) {
        const exit = yield* Effect.exit(Effect.scoped(Connector.connect(Address.tcp("127.0.0.1", port))).pipe(
          i % 3 === 0 ? Effect.timeout("0 millis") : (e) => e
        ))
        if (i % 3 !== 0) expect(Exit.isSuccess(exit)).toBe(true)
      }
      // the server side closes its accepted sockets when it reads the FIN: give it a moment
      yield* Effect.sleep("20 millis").pipe(Effect.repeat({ until: () => fdCount() <= before, times: 100 }))
      expect(fdCount()).toBeLessThanOrEqual(before)
    }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer)), 30_000)

  it.live("2000 connects started at once take turns with the event loop: it turns while they run", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "turns.sock")
      // A listener that never accepts: unix connects complete at once while its backlog has room.
      const listener = yield* Effect.acquireRelease(Effect.sync(() => binding.socket(binding.constants.AF_UNIX, binding.constants.SOCK_STREAM)), (fd) => Effect.sync(() => binding.close(fd)))
      expect(binding.bind(listener, { family: binding.constants.AF_UNIX, address: Buffer.from(path), port: 0 })).toBe(0)
      expect(binding.listen(listener, 4096)).toBe(0)
      let turns = 0
      let running = true
      const spin = () => {
        turns++
        if (running) setImmediate(spin)
      }
      setImmediate(spin)
      yield* Effect.forEach(Array.from({ length: 2000 }), () => Effect.scoped(Connector.connect(Address.unix(path))), {
        concurrency: "unbounded",
        discard: true
      })
      running = false
      // Without turns, all 2000 (synchronous for unix) run in one go and the loop turns once or twice.
      expect(turns).toBeGreaterThan(10)
    }).pipe(Effect.scoped, Effect.provide(NativeConnector.layer)), 30_000)
})

describe("names: the real resolver, and racing over the real kernel", () => {
  it.live("localhost through getaddrinfo (/etc/hosts, no network)", () =>
    Effect.gen(function*() {
      const server = yield* listening(0)
      const port = (server.address() as { port: number }).port
      const connection = yield* Connector.connect(Address.tcp("localhost", port))
      expect(connection.remote._tag).toBe("Tcp")
      expect([Address.tcp("127.0.0.1", port), Address.tcp("::1", port)]).toContainEqual(connection.remote)
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("a name with ::1 and 127.0.0.1, listened on 127.0.0.1 only: 127.0.0.1 wins; with neither, both refusals are kept", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, (c) => c.destroy(), "127.0.0.1")
      const port = (server.address() as { port: number }).port
      const both = Layer.provide(NativeConnector.layerWithoutResolver, Resolver.layerStatic({ "svc.test": ["::1", "127.0.0.1"] }))
      const connection = yield* Connector.connect(Address.tcp("svc.test", port)).pipe(Effect.provide(both))
      expect(connection.remote).toEqual(Address.tcp("127.0.0.1", port))
      server.close()
      const error = yield* Effect.flip(Connector.connect(Address.tcp("svc.test", port)).pipe(Effect.provide(both)))
      expect(error._tag).toBe("AllAttemptsFailed")
      if (error._tag === "AllAttemptsFailed") {
        expect(error.attempts.map((a) => [a.address, a.error._tag])).toEqual([
          [`tcp://[::1]:${port}`, "ConnectionRefused"],
          [`tcp://127.0.0.1:${port}`, "ConnectionRefused"]
        ])
      }
    }))
})

describe("NativeConnector through the binding seam (errnos the kernel gives only by chance)", () => {
  // The real binding with some calls overridden, and the fds it closed.
  const seam = (overrides: Partial<Binding>) => {
    const closed: Array<number> = []
    const sys: Binding = { ...binding, close: (fd) => (closed.push(fd), binding.close(fd)), ...overrides }
    const layer = Layer.effect(Connector.Connector, NativeConnector.make(sys)).pipe(Layer.provide(Resolver.layerStatic({})))
    return { closed, layer }
  }
  const { ENOBUFS, EINTR } = constants.errno

  // EINTR from connect(2): the connect goes on, as after EINPROGRESS. EINTR from the zero-timeout
  // poll(2) (a signal, e.g. a profiler's SIGPROF): nothing is known yet, so the connect is awaited.
  for (const [call, overrides] of [
    ["connect", { connect: (fd: number, sa: SockAddr) => (binding.connect(fd, sa), -EINTR) }],
    ["pollNow", { pollNow: () => -EINTR }]
  ] as const) {
    it.live(`EINTR from ${call} is no error: the connect is awaited`, () =>
      Effect.gen(function*() {
        const server = yield* listening(0)
        const port = (server.address() as { port: number }).port
        const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port))
        expect(connection.remote).toEqual(Address.tcp("127.0.0.1", port))
      }).pipe(Effect.provide(seam(overrides).layer)))
  }

  it.live("a stale writable wake-up is no connection: the connect is proven and still times out", () => {
    // The first libuv poll fires at once with writable and no error, as a wake-up meant for an
    // earlier socket on the same fd number would; later polls are real.
    let stale = 0
    const { closed, layer } = seam({
      pollNow: () => 0,
      poll: (fd, events, callback) => {
        if (stale++ > 0) return binding.poll(fd, events, callback)
        setImmediate(() => callback(0, binding.constants.POLL_WRITABLE))
        return { cancel: () => {} }
      }
    })
    return Effect.gen(function*() {
      const to = Address.tcp("127.0.0.1", yield* ownPort("stuck"))
      // Fill the black hole's accept queue, so that our SYN is dropped and stays unanswered.
      for (let i = 0; i < 4; i++) {
        const held = yield* Raw.socket("inet", "stream")
        yield* Effect.result(Raw.connect(held, to))
      }
      yield* Effect.sleep("20 millis")
      const failed = yield* Effect.flip(Effect.scoped(Connector.connect(to, { timeout: "300 millis" })))
      expect(failed).toMatchObject({ _tag: "TimedOut", address: Address.format(to) })
      expect(stale).toBe(2)
      expect(closed).toHaveLength(1)
    }).pipe(Effect.provide(layer))
  })

  it.live("a failing setsockopt is that syscall's tagged error, and the fd is closed", () =>
    Effect.gen(function*() {
      const server = yield* listening(0)
      const to = Address.tcp("127.0.0.1", (server.address() as { port: number }).port)
      const options = seam({ setsockoptInt: () => -ENOBUFS })
      expect(yield* Effect.flip(Connector.connect(to, { noDelay: true }).pipe(Effect.provide(options.layer)))).toMatchObject({
        _tag: "OutOfResources", errno: "ENOBUFS", syscall: "setsockopt", address: Address.format(to), transient: true
      })
      expect(options.closed).toHaveLength(1)
    }))

  // The local address is read on first access, not on every connect: a read that fails throws
  // getsockname's tagged error; a read once the connection closed throws EBADF's without a
  // syscall (the number may belong to another file by then); detach() reads it before letting go.
  const tagged = (f: () => unknown) => {
    try {
      f()
    } catch (e) {
      return e
    }
    return "no throw"
  }
  it.live("the local address: read once on first access, a failed read and a read after close throw the tagged error", () =>
    Effect.gen(function*() {
      const server = yield* listening(0)
      const to = Address.tcp("127.0.0.1", (server.address() as { port: number }).port)
      let reads = 0
      const counted = seam({ getsockname: (fd) => (reads++, binding.getsockname(fd)) })
      const connection = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* Connector.connect(to).pipe(Effect.provide(counted.layer))
        expect(reads).toBe(0)
        expect(c.local).toEqual(Address.tcp("127.0.0.1", (binding.getsockname(c.fd) as SockAddr).port))
        expect(c.local).toBe(c.local)
        expect(reads).toBe(1)
        return c
      }))
      expect(counted.closed).toHaveLength(1)
      expect(connection.local._tag).toBe("Tcp")
      const unread = yield* Effect.scoped(Connector.connect(to).pipe(Effect.provide(counted.layer)))
      expect(tagged(() => unread.local)).toMatchObject({ _tag: "BadDescriptor", errno: "EBADF", syscall: "getsockname", address: Address.format(to) })
      expect(reads).toBe(1)
      const detached = yield* Effect.scoped(Connector.connect(to).pipe(Effect.provide(counted.layer), Effect.map((c) => [c, c.detach()] as const)))
      binding.close(detached[1])
      expect(detached[0].local._tag).toBe("Tcp")
      expect(reads).toBe(2)
      const names = seam({ getsockname: () => -ENOBUFS })
      yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* Connector.connect(to).pipe(Effect.provide(names.layer))
        expect(tagged(() => c.local)).toMatchObject({ _tag: "OutOfResources", errno: "ENOBUFS", syscall: "getsockname", address: Address.format(to) })
      }))
      expect(names.closed).toHaveLength(1)
    }))

  // The attempt's span names the local end when it can: a local address that cannot be read does
  // not turn the connect itself into a defect.
  it.live("with a tracer, a connect whose local address cannot be read still succeeds; its span says ok without it", () =>
    Effect.gen(function*() {
      const server = yield* listening(0)
      const to = Address.tcp("127.0.0.1", (server.address() as { port: number }).port)
      const { tracer: recording, spans } = recordingTracer()
      const names = seam({ getsockname: () => -ENOBUFS })
      const exit = yield* Effect.exit(Effect.scoped(Connector.connect(to).pipe(Effect.withTracer(recording), Effect.provide(names.layer))))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(names.closed).toHaveLength(1)
      expect(spans.filter((s) => s.name === "effect-connect.connect").map((s) => Object.fromEntries(s.attributes)))
        .toEqual([{
          "connect.address": Address.format(to), "connect.attempt": 1, "connect.outcome": "ok",
          "server.address": "127.0.0.1", "server.port": to.port, "network.peer.address": "127.0.0.1", "network.peer.port": to.port,
          "network.transport": "tcp", "network.type": "ipv4"
        }])
    }))
})
