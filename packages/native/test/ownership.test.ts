import { Address, type Connection, Connector } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { closeSync, fstatSync } from "node:fs"
import { Socket } from "node:net"
import { join } from "node:path"
import { content, fdCount, listening, reopenAs, tempDir } from "./support.js"

const echo = (s: Socket) => s.pipe(s)

const roundTrip = (socket: Socket, text: string) =>
  Effect.callback<string, Error>((resume) => {
    socket.once("data", (d) => resume(Effect.succeed(d.toString())))
    socket.once("error", (e) => resume(Effect.fail(e)))
    socket.write(text)
  })

// `connect(...)` as a client calls it, and whether 'connect' came synchronously.
const clientConnect = (socket: Socket, call: (cb: () => void) => void) =>
  Effect.callback<{ readonly sync: boolean; readonly events: ReadonlyArray<string> }, Error>((resume) => {
    const events: Array<string> = []
    socket.once("ready", () => events.push("ready"))
    socket.once("error", (e) => resume(Effect.fail(e)))
    let returned = false
    let sync = false
    call(() => {
      sync = !returned
      events.push("callback")
      setImmediate(() => resume(Effect.succeed({ sync, events })))
    })
    returned = true
  })

// The fd count back at `before`: the server's end closes when it reads our FIN.
const settled = (before: number) =>
  Effect.sleep("10 millis").pipe(
    Effect.repeat({ until: () => fdCount() <= before, times: 100 }),
    Effect.andThen(Effect.sync(() => expect(fdCount()).toBe(before)))
  )

describe("Connection ownership: toNodeSocket and detach", () => {
  it.live("toNodeSocket over unix: looks connected, and pg's connect(port, host) issues no connect(2)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s.sock")
      yield* listening(path, echo)
      const connection = yield* Connector.connect(Address.unix(path))
      const socket = connection.toNodeSocket()
      expect({ pending: socket.pending, connecting: socket.connecting, readyState: socket.readyState })
        .toEqual({ pending: false, connecting: false, readyState: "open" })
      // Without the override: a connect(2) to the path "127.0.0.1", ENOENT.
      const seen = yield* clientConnect(socket, (cb) => socket.connect(5432, "127.0.0.1", cb))
      expect(seen).toEqual({ sync: false, events: ["callback", "ready"] })
      expect(yield* roundTrip(socket, "ping")).toBe("ping")
    }).pipe(Effect.provide(NativeConnector.layer)))

  it.live("toNodeSocket over TCP: remote address as connected; connect(...) twice is no second connect(2)", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const connection = yield* Connector.connect(Address.tcp("127.0.0.1", port))
      const socket = connection.toNodeSocket()
      expect({ remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, readyState: socket.readyState })
        .toEqual({ remoteAddress: "127.0.0.1", remotePort: port, readyState: "open" })
      // Without the override the second connect(2) on the settled socket is EISCONN.
      yield* clientConnect(socket, (cb) => socket.connect({ port, host: "127.0.0.1" }, cb))
      const seen = yield* clientConnect(socket, (cb) => socket.connect(port, "127.0.0.1", cb))
      expect(seen).toEqual({ sync: false, events: ["callback", "ready"] })
      expect(yield* roundTrip(socket, "pong")).toBe("pong")
    }).pipe(Effect.provide(NativeConnector.layer)))

  // Each way the fd leaves the scope's hands, then its number reused by a file before the scope
  // closes: the file must survive the scope's close.
  it.live.each([
    {
      name: "detach: the caller adopts the fd (as node-redis's `socket.fd` option does) and closes it",
      handOver: (connection: Connection.Connection) => {
        const fd = connection.detach()
        expect(fd).toBe(connection.fd)
        expect(() => connection.detach()).toThrow(/detached/)
        expect(() => connection.toNodeSocket()).toThrow(/detached/)
        return new Socket({ fd })
      }
    },
    {
      name: "toNodeSocket: its user destroys the net.Socket",
      handOver: (connection: Connection.Connection) => {
        const socket = connection.toNodeSocket()
        expect(() => connection.detach()).toThrow(/net\.Socket/)
        return socket
      }
    }
  ])("$name; a file reusing the number survives the scope's close", ({ handOver }) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* listening(0, echo)
      const port = (server.address() as { port: number }).port
      const before = fdCount()
      const scope = yield* Scope.make()
      const connection = yield* Scope.provide(Connector.connect(Address.tcp("127.0.0.1", port)), scope)
      const socket = handOver(connection)
      expect(yield* roundTrip(socket, "x")).toBe("x")
      socket.destroy()
      const file = reopenAs(connection.fd, dir)
      yield* Scope.close(scope, Exit.void)
      expect(fstatSync(file).isFile()).toBe(true)
      expect(content(file)).toMatch(/^file \d+$/)
      closeSync(file)
      yield* settled(before)
      expect(() => connection.toNodeSocket()).toThrow(/detached|closed/)
    }).pipe(Effect.provide(NativeConnector.layer)))
})
