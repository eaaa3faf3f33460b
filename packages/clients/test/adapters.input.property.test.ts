// The adapters' own options under hostile input, as configuration hands them over: SqlPg's layer
// fails with a SqlError whose reason's cause is the InvalidOption naming the option; Http's agent,
// undici's connector, postgres.js's socket function, ioredis's connector and mysql2's stream hand
// the client an Error that says what was wrong (a socket destroyed with it, for the ones that hand
// over a socket still dialing). Never a sync throw, a defect, an uncaught exception or an unhandled rejection; no fd
// left over. Nothing reaches a server: targets are a closed loopback port or a missing unix path.
import { fc, test } from "@fast-check/vitest"
import { ConnectError, Resolver } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { Cause, Effect, Exit, Layer, Schedule } from "effect"
import { Redis } from "ioredis"
import * as mysql from "mysql2/promise"
import { fetch } from "undici"
import * as http from "node:http"
import { createServer, type Server } from "node:net"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect } from "vitest"
import * as Ioredis from "../src/Ioredis.js"
import { Http, Mysql2, Postgres } from "../src/index.js"
import * as SqlPg from "../src/SqlPg.js"
import * as Undici from "../src/Undici.js"
import { hostileValue } from "../../core/test/arbitraries.js"
import { fdCount } from "../../native/test/support.js"

// No name is ever looked up: the resolver knows none.
const connector = NativeConnector.layerWithoutResolver.pipe(Layer.provide(Resolver.layerStatic({})))
const provided = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.runPromise(Effect.provide(effect, connector) as Effect.Effect<A, E>)
const junk = fc.oneof(
  hostileValue,
  fc.anything(),
  fc.constantFrom(null, undefined, NaN, -1, 1.5, 2 ** 53, "", "x".repeat(10_000), Symbol("t"), Object.create(null), () => ({}))
)
const numRuns = 60

const fired: Array<unknown> = []
const record = (e: unknown) => void fired.push(e)
let dir = ""
let server: Server
let port = 0
let closed = 0
beforeAll(async () => {
  process.on("uncaughtException", record)
  process.on("unhandledRejection", record)
  dir = mkdtempSync(join(tmpdir(), "ec-adapters-"))
  // Accepts and resets: a TLS handshake over it fails, a plain request gets no answer.
  server = createServer((s) => s.destroy())
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as { port: number }).port
  // A loopback port nothing listens on: one the kernel gave us, closed again.
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve))
  closed = (probe.address() as { port: number }).port
  await new Promise((resolve) => probe.close(resolve))
})
afterAll(async () => {
  process.off("uncaughtException", record)
  process.off("unhandledRejection", record)
  await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

// Runs one case: no fd left over, nothing fired on the process.
const guarded = async (run: () => Promise<void>) => {
  const before = fdCount()
  await run()
  await new Promise((resolve) => setTimeout(resolve, 5))
  expect(fired, "uncaught exceptions or unhandled rejections").toEqual([])
  expect(fdCount(), "fds left over").toBe(before)
}

/** The error a socket handed over while it dials is destroyed with, once it has closed. */
const failureOf = async (socket: NodeJS.EventEmitter) => {
  const [error] = await Promise.all([
    new Promise<unknown>((resolve) => socket.once("error", resolve)),
    new Promise((resolve) => socket.once("close", resolve))
  ])
  return error
}

const isError = (e: unknown): e is Error & { readonly _tag?: string; readonly option?: string } =>
  e instanceof Error && !(e instanceof TypeError && !("code" in e))

describe("SqlPg.layer under hostile config", () => {
  const config = fc.oneof(
    junk,
    fc.record({ dial: junk, retry: junk, connectTimeout: junk, extra: junk }, { requiredKeys: [] })
  )
  test.prop([config], { numRuns })("a SqlError, whose cause names our option when it is junk", (config) =>
    guarded(async () => {
      // A missing unix socket and no retries: the layer fails fast, with nothing sent anywhere.
      const given = typeof config === "object" && config !== null ? { retry: Schedule.recurs(0), ...config, host: dir, port: 1 } : config
      const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(SqlPg.layer(given as SqlPg.Config))).pipe(Effect.provide(connector)))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      const error = Cause.findErrorOption(exit.cause)
      expect(error._tag, Cause.pretty(exit.cause)).toBe("Some")
      if (error._tag === "None") return
      expect(error.value).toMatchObject({ _tag: "SqlError" })
      const o = given as { dial?: unknown; retry?: unknown; connectTimeout?: unknown } | null
      const junkOf = typeof o !== "object" || o === null ? "config"
        : o.dial !== undefined && typeof o.dial !== "function" ? "dial"
        : o.retry !== undefined && !Schedule.isSchedule(o.retry) ? "retry"
        : undefined
      if (junkOf !== undefined) {
        expect(error.value.reason.cause).toMatchObject({ _tag: "InvalidOption", option: `SqlPg.${junkOf}` })
      } else if ((error.value.reason.cause as { _tag?: string })._tag === "InvalidOption") {
        expect(error.value.reason.cause).toMatchObject({ option: "SqlPg.connectTimeout" })
      }
    }))
})

describe("Http.agent, Undici.connect, Postgres.socket under hostile options", () => {
  test.prop([junk], { numRuns })("Http.agent: the request's 'error' says what was wrong", (options) =>
    guarded(async () => {
      const agent = await provided(Http.agent(undefined, options as Http.AgentOptions))
      const error = await new Promise<unknown>((resolve) => {
        const request = http.get(`http://127.0.0.1:${port}/`, { agent, timeout: 2000 }, (res) => resolve(res.statusCode))
        request.on("error", resolve)
        request.on("timeout", () => request.destroy(new Error("timeout")))
      })
      agent.destroy()
      expect(isError(error), String(error)).toBe(true)
      const invalid = options !== undefined && (typeof options !== "object" || options === null ||
        ![undefined, "http:", "https:"].includes((options as { protocol?: unknown }).protocol as string))
      if (invalid) expect(error).toMatchObject({ _tag: "InvalidOption", option: expect.stringMatching(/^Http\.agent (options|protocol)$/) })
    }))

  const undiciOptions = fc.oneof(junk, fc.record({ socketPath: junk, timeout: junk, tls: fc.oneof(junk, fc.record({ ca: junk, minVersion: junk, ALPNProtocols: junk }, { requiredKeys: [] })) }, { requiredKeys: [] }))
  test.prop([undiciOptions, fc.constantFrom("http:", "https:")], { numRuns })("Undici.connect: the callback's error says what was wrong", (options, protocol) =>
    guarded(async () => {
      const connect = await provided(Undici.connect(undefined, options as Undici.ConnectOptions))
      const error = await new Promise<unknown>((resolve) => {
        try {
          connect({ protocol, hostname: "127.0.0.1", port: String(port) } as Parameters<typeof connect>[0], (e, socket) => {
            socket?.destroy()
            resolve(e)
          })
        } catch (e) {
          resolve(new Error(`threw synchronously: ${String(e)}`))
        }
      })
      const o = options as { socketPath?: unknown; timeout?: unknown; tls?: unknown } | null
      if (o === undefined) return
      if (typeof o !== "object" || o === null) expect(error).toMatchObject({ _tag: "InvalidOption", option: "Undici.options" })
      else if (o.socketPath !== undefined && typeof o.socketPath !== "string") expect(error).toMatchObject({ _tag: "InvalidOption", option: "Undici.socketPath" })
      else if (o.timeout !== undefined && !(typeof o.timeout === "number" && o.timeout >= 0 && o.timeout <= 2 ** 31 - 1)) {
        expect(error).toMatchObject({ _tag: "InvalidOption", option: "Undici.timeout" })
      }
      else if (error !== null) expect(String(error)).not.toMatch(/threw synchronously/)
    }))

  test.prop([junk], { numRuns })("Postgres.socket: options that are none destroy the socket with InvalidAddress", (options) =>
    guarded(async () => {
      const socket = await provided(Postgres.socket())
      fc.pre(typeof options !== "object" || options === null)
      expect(await failureOf(socket(options as Postgres.SocketOptions))).toMatchObject({ _tag: "InvalidAddress", field: "family" })
    }))
})

describe("Ioredis.connector, Mysql2.stream under hostile options", () => {
  const none = junk.filter((o) => typeof o !== "object" || o === null)
  // Junk a client keeps as the port and we never take for one: nothing a client would turn into
  // its default (6379, 3306) or a port number, so nothing is dialed.
  const noPort = junk.filter((p) => {
    const n = typeof p === "string" ? parseInt(p, 10) : p
    return Boolean(n) && !(typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 65535)
  })
  // One field of a client's config junk, the others a missing unix path or a closed loopback port.
  const field = fc.oneof(
    fc.tuple(fc.constant("host" as const), junk),
    fc.tuple(fc.constant("port" as const), noPort),
    fc.tuple(fc.constant("path" as const), junk.filter((p) => typeof p !== "string"))
  )
  const fields = ([name, value]: readonly [string, unknown]) =>
    name === "path" ? { host: "127.0.0.1", port: closed, path: value }
    : name === "port" ? { host: "127.0.0.1", port: value }
    : { host: value, port: closed }
  const expected = ([name, value]: readonly [string, unknown], error: unknown) => {
    expect(isError(error), String(error)).toBe(true)
    expect(error, String(error)).toHaveProperty("_tag")
    if (name === "port" || (name === "path" && value)) {
      expect(error).toMatchObject({ _tag: "InvalidAddress", field: name })
    }
  }
  type Connector = { connect(): Promise<NodeJS.EventEmitter>; disconnect(): void }

  test.prop([none], { numRuns })("Ioredis: a connector built with options that are none destroys its socket with InvalidOption", (options) =>
    guarded(async () => {
      const Connector = await provided(Ioredis.connector()) as unknown as new(options: unknown) => Connector
      const connector = new Connector(options)
      expect(await failureOf(await connector.connect())).toMatchObject({
        _tag: "InvalidOption", option: "Ioredis.options", reason: `must be an object, got ${ConnectError.shown(options)}`
      })
      connector.disconnect()
    }))

  // As from a refused net.connect: connect() rejects with ioredis's "Connection is closed.", the
  // 'error' event is the dial's error.
  test.prop([junk, fc.boolean()], { numRuns })("Ioredis: 'error' says a disconnectTimeout that is no number of milliseconds", (timeout, lazy) =>
    guarded(async () => {
      const Connector = await provided(Ioredis.connector())
      const path = join(dir, "missing.sock")
      const client = new Redis({ path, disconnectTimeout: timeout as number, Connector, lazyConnect: true, retryStrategy: () => null })
      const events: Array<unknown> = []
      client.on("error", (e) => events.push(e))
      expect(await client.connect().then(() => "connected", (e: unknown) => e)).toMatchObject({ message: "Connection is closed." })
      if (lazy) client.disconnect()
      else await client.quit().catch(() => undefined)
      expect(events).toHaveLength(1)
      const [error] = events
      if (timeout == null || (typeof timeout === "number" && timeout >= 0)) {
        expect(error).toMatchObject({ _tag: "NotFound", address: `unix://${path}` })
      } else {
        expect(error).toMatchObject({
          _tag: "InvalidOption", option: "Ioredis.disconnectTimeout", reason: `must be a number of milliseconds, got ${ConnectError.shown(timeout)}`
        })
      }
    }))

  test.prop([field], { numRuns })("Ioredis: junk host, port or path: 'error' is a typed error naming it", (junkField) =>
    guarded(async () => {
      const Connector = await provided(Ioredis.connector())
      const client = new Redis({ ...fields(junkField), Connector, lazyConnect: true, retryStrategy: () => null } as never)
      const events: Array<unknown> = []
      client.on("error", (e) => events.push(e))
      await client.connect().catch(() => undefined)
      client.disconnect()
      expected(junkField, events[0])
    }))

  test.prop([fc.oneof(none, none.map((config) => ({ config })))], { numRuns })("Mysql2: options or a config that are none destroy the stream with InvalidOption", (options) =>
    guarded(async () => {
      const stream = await provided(Mysql2.stream())
      const error = await failureOf(stream(options as Mysql2.StreamOptions))
      const [option, value] = typeof options === "object" && options !== null ? ["Mysql2.config", options.config] : ["Mysql2.options", options]
      expect(error).toMatchObject({ _tag: "InvalidOption", option, reason: `must be an object, got ${ConnectError.shown(value)}` })
    }))

  test.prop([field], { numRuns })("Mysql2: junk host, port or socketPath: createConnection rejects with a typed error naming it", (junkField) =>
    guarded(async () => {
      const stream = await provided(Mysql2.stream())
      const { path, ...rest } = fields(junkField) as { path?: unknown }
      const config = { ...rest, ...(path === undefined ? {} : { socketPath: path }), user: "x", stream, connectTimeout: 2000 }
      expected(junkField, await mysql.createConnection(config as never).then((c) => (c.destroy(), "connected"), (e: unknown) => e))
    }))
})

describe("adapters: what they say", () => {
  const sqlFailure = async (config: unknown) => {
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(SqlPg.layer(config as SqlPg.Config))).pipe(Effect.provide(connector)))
    return Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause).pipe((o) => o._tag === "Some" ? o.value : Cause.pretty(exit.cause)) : "built"
  }
  test("SqlPg.layer: null config, a junk retry, a connectTimeout of \"soon\"", () =>
    guarded(async () => {
      expect(await sqlFailure(null)).toMatchObject({
        _tag: "SqlError", reason: { _tag: "ConnectionError", cause: { _tag: "InvalidOption", option: "SqlPg.config", reason: "must be an object, got null" } }
      })
      expect(await sqlFailure({ host: dir, retry: 5 })).toMatchObject({ reason: { cause: { option: "SqlPg.retry", reason: "must be a Schedule, got 5" } } })
      expect(await sqlFailure({ host: dir, retry: Schedule.recurs(0), connectTimeout: "soon" })).toMatchObject({
        reason: { cause: { option: "SqlPg.connectTimeout", reason: expect.stringMatching(/^must be a duration/) } }
      })
      expect(await sqlFailure({ host: dir, dial: 5 })).toMatchObject({ reason: { cause: { option: "SqlPg.dial", reason: "must be a function, got 5" } } })
    }))

  test("Undici.connect: null options, a tls value node:tls refuses; Undici.agent: null options", () =>
    guarded(async () => {
      const attempt = async (options: unknown, protocol: string) => {
        const connect = await provided(Undici.connect(undefined, options as Undici.ConnectOptions))
        return new Promise<unknown>((resolve) =>
          connect({ protocol, hostname: "127.0.0.1", port: String(port) } as Parameters<typeof connect>[0], (e, socket) => {
            socket?.destroy()
            resolve(e)
          })
        )
      }
      expect(await attempt(null, "http:")).toMatchObject({ _tag: "InvalidOption", option: "Undici.options", reason: "must be an object, got null" })
      expect(await attempt({ tls: { ca: 5 } }, "https:")).toMatchObject({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining("options.ca") })
      const agent = await provided(Undici.agent(undefined, null as unknown as Undici.AgentOptions))
      const fetched = await fetch(`http://127.0.0.1:${port}/`, { dispatcher: agent }).then(() => "fetched", (e: Error) => e.cause)
      await agent.destroy()
      expect(fetched).toMatchObject({ _tag: "InvalidOption", option: "Undici.options", reason: "must be an object, got null" })
    }))

  test("Http.agent: null options, a protocol of neither kind", () =>
    guarded(async () => {
      for (const [options, option] of [[null, "Http.agent options"], [{ protocol: "ftp:" }, "Http.agent protocol"]] as const) {
        const agent = await provided(Http.agent(undefined, options as unknown as Http.AgentOptions))
        const error = await new Promise<unknown>((resolve) => http.get(`http://127.0.0.1:${port}/`, { agent }).on("error", resolve))
        agent.destroy()
        expect(error).toMatchObject({ _tag: "InvalidOption", option })
      }
    }))

  test("Ioredis.connector: null options; Mysql2.stream: null options, a null config", () =>
    guarded(async () => {
      const Connector = await provided(Ioredis.connector()) as unknown as new(options: unknown) => { connect(): Promise<NodeJS.EventEmitter> }
      expect(await failureOf(await new Connector(null).connect())).toMatchObject({
        _tag: "InvalidOption", option: "Ioredis.options", reason: "must be an object, got null"
      })
      const stream = await provided(Mysql2.stream())
      for (const [options, option] of [[null, "Mysql2.options"], [{ config: null }, "Mysql2.config"]] as const) {
        const error = await new Promise<unknown>((resolve) => stream(options as unknown as Mysql2.StreamOptions).once("error", resolve))
        expect(error).toMatchObject({ _tag: "InvalidOption", option, reason: "must be an object, got null" })
      }
    }))

  test("Postgres.socket: null options", () =>
    guarded(async () => {
      const socket = await provided(Postgres.socket())
      expect(await failureOf(socket(null as unknown as Postgres.SocketOptions))).toMatchObject({
        _tag: "InvalidAddress", field: "family", reason: "must be a target, { host, port } or { path }, got null"
      })
    }))
})
