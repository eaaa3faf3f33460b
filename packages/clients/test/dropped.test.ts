// Each client against a peer that drops SYNs (see `droppingPeer`), over each connector: the
// client's own connect timeout fails the connect with the client's own error, well before the
// kernel's ETIMEDOUT (about 130 s); closing the client, or aborting the request, while the dial
// is pending closes the dial's fd at once (long before any timeout here).
import type { Connector } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Effect, Exit, Layer, Scope } from "effect"
import { HttpClient } from "effect/http"
import { Redis } from "ioredis"
import * as http from "node:http"
import postgresJs from "postgres"
import { Agent, fetch, request } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import mysql from "mysql2/promise"
import pg from "pg"
import { Http, Mysql2, Pg, Postgres } from "../src/index.js"
import * as SqlPg from "../src/SqlPg.js"
import * as Ioredis from "../src/Ioredis.js"
import * as Undici from "../src/Undici.js"
import { droppingPeer, fdCount, fdsBackTo, rejection } from "./servers.js"

// Far below the kernel's ~130 s, far above the timeouts asked for (1 s): no exact timing.
const bound = 20_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const connectors = [["NativeConnector", NativeConnector.layer], ["NodeConnector", NodeConnector.layer]] as const

describe.each(connectors)("a peer that drops SYNs, over %s", (_, connector) => {
  const layer = connector
  const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, layer))
  let peer: Awaited<ReturnType<typeof droppingPeer>>
  beforeAll(async () => {
    peer = await droppingPeer()
  })
  afterAll(() => peer?.close())
  const where = () => `127.0.0.1:${peer.port}`

  // pg's client.end() while it connects waits for the connect, over its own net.Socket too.
  it("pg: connectionTimeoutMillis fails the connect with its 'timeout expired'", async () => {
    const before = fdCount()
    const stream = await run(Pg.stream())
    const started = Date.now()
    const error = await rejection(new pg.Client({ host: "127.0.0.1", port: peer.port, stream, connectionTimeoutMillis: 1000 }).connect())
    expect(Date.now() - started).toBeLessThan(bound)
    expect(error).toMatchObject({ message: "timeout expired" })
    expect(await fdsBackTo(before)).toBe(before)
  })

  it("@effect/sql-pg: SqlPg.layer's connectTimeout fails the layer with a SqlError; the dial's fd closed", async () => {
    const before = fdCount()
    const started = Date.now()
    const layer = SqlPg.layer({ host: "127.0.0.1", port: peer.port, connectTimeout: "1 second" })
    const error = await Effect.runPromise(Effect.flip(Effect.scoped(Layer.build(Layer.provide(layer, connector)))))
    expect(Date.now() - started).toBeLessThan(bound)
    expect(error).toMatchObject({ _tag: "SqlError", reason: { _tag: "ConnectionError" } })
    expect(await fdsBackTo(before)).toBe(before)
  })

  it("mysql2: connectTimeout fails the connect with its ETIMEDOUT", async () => {
    const before = fdCount()
    const stream = await run(Mysql2.stream())
    const started = Date.now()
    const error = await rejection(mysql.createConnection({ host: "127.0.0.1", port: peer.port, user: "x", stream, connectTimeout: 1000 }))
    expect(Date.now() - started).toBeLessThan(bound)
    expect(error).toMatchObject({ code: "ETIMEDOUT", message: "connect ETIMEDOUT" })
    expect(await fdsBackTo(before)).toBe(before)
  })

  it("postgres.js: connect_timeout fails the query with CONNECT_TIMEOUT naming host:port; sql.end() while it dials ends the dial by then", async () => {
    const before = fdCount()
    const socket = await run(Postgres.socket())
    const options = { host: "127.0.0.1", port: peer.port, connect_timeout: 1, max: 1, socket } as postgresJs.Options<{}>
    const sql = postgresJs(options)
    const started = Date.now()
    const error = await rejection(sql`SELECT 1`)
    expect(Date.now() - started).toBeLessThan(bound)
    expect(error).toMatchObject({ code: "CONNECT_TIMEOUT", message: `write CONNECT_TIMEOUT ${where()}`, address: "127.0.0.1", port: peer.port })
    await sql.end()
    expect(await fdsBackTo(before)).toBe(before)
    // postgres.js's end leaves a connecting socket to its connect_timeout (its own net.Socket too).
    const ending = postgresJs(options)
    const query = rejection(ending`SELECT 1`)
    await sleep(100)
    await ending.end({ timeout: 0 })
    expect(await query).toMatchObject({ code: "CONNECTION_DESTROYED" })
    for (let i = 0; i < 100 && fdCount() > before; i++) await sleep(50)
    expect(fdCount()).toBe(before)
  })

  it("undici: its connect timeout fails the request with UND_ERR_CONNECT_TIMEOUT; an aborted request and a closed Undici.layer cancel the dial at once", async () => {
    const before = fdCount()
    const agent = new Agent({ connect: await run(Undici.connect(undefined, { timeout: 1000 })) })
    const started = Date.now()
    const fetched = await rejection(fetch(`http://${where()}/`, { dispatcher: agent }))
    expect(Date.now() - started).toBeLessThan(bound)
    expect((fetched as Error).cause).toMatchObject({
      name: "ConnectTimeoutError", code: "UND_ERR_CONNECT_TIMEOUT", message: `Connect Timeout Error (attempted address: ${where()}, timeout: 1000ms)`
    })
    await agent.close()
    expect(await fdsBackTo(before)).toBe(before)

    const patient = new Agent({ connect: await run(Undici.connect(undefined, { timeout: 60_000 })) })
    const abort = new AbortController()
    const requested = rejection(request(`http://${where()}/`, { dispatcher: patient, signal: abort.signal }))
    await sleep(100)
    expect(fdCount()).toBe(before + 1)
    abort.abort()
    expect(await requested).toMatchObject({ name: "AbortError" })
    expect(await fdsBackTo(before)).toBe(before)
    await patient.destroy()

    const scope = Effect.runSync(Scope.make())
    const context = await Effect.runPromise(Layer.buildWithScope(Layer.provide(Undici.layer(undefined, { timeout: 60_000 }), layer), scope))
    const pending = Effect.runPromiseExit(Effect.provide(HttpClient.get(`http://${where()}/`), context))
    await sleep(100)
    expect(fdCount()).toBe(before + 1)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    expect(await fdsBackTo(before)).toBe(before)
    expect(Exit.isFailure(await pending)).toBe(true)
  })

  it("undici: Undici.agent takes undici's own connectTimeout and connect.timeout; agent.destroy() cancels a pending dial at once", async () => {
    const before = fdCount()
    for (const options of [{ connectTimeout: 1000 }, { connect: { timeout: 1000 } }]) {
      const agent = await run(Undici.agent(undefined, options))
      const started = Date.now()
      const fetched = await rejection(fetch(`http://${where()}/`, { dispatcher: agent }))
      expect(Date.now() - started).toBeLessThan(bound)
      expect((fetched as Error).cause).toMatchObject({ code: "UND_ERR_CONNECT_TIMEOUT", message: `Connect Timeout Error (attempted address: ${where()}, timeout: 1000ms)` })
      await agent.close()
    }
    expect(await fdsBackTo(before)).toBe(before)
    const agent = await run(Undici.agent(undefined, { connectTimeout: 60_000 }))
    const fetched = rejection(fetch(`http://${where()}/`, { dispatcher: agent }))
    await sleep(100)
    expect(fdCount()).toBe(before + 1)
    await agent.destroy()
    expect(await fdsBackTo(before)).toBe(before)
    expect(await fetched).toMatchObject({ name: "TypeError", cause: { code: "UND_ERR_DESTROYED" } })
  })

  it("node:http: the request's timeout counts from the dial, req.destroy() and agent.destroy() cancel it at once", async () => {
    const before = fdCount()
    const agent = await run(Http.agent())
    const get = (options: http.RequestOptions, use: (req: http.ClientRequest) => void) =>
      new Promise<unknown>((resolve) => {
        const req = http.get(`http://${where()}/`, { agent, ...options })
        req.once("error", resolve)
        use(req)
      })
    const started = Date.now()
    const timedOut = await get({ timeout: 1000 }, (req) => req.once("timeout", () => req.destroy(new Error("timed out"))))
    expect(Date.now() - started).toBeLessThan(bound)
    expect(timedOut).toMatchObject({ message: "timed out" })
    expect(await fdsBackTo(before)).toBe(before)
    const destroyed = await get({}, (req) => setTimeout(() => req.destroy(), 100))
    expect(destroyed).toMatchObject({ code: "ECONNRESET", message: "socket hang up" })
    expect(await fdsBackTo(before)).toBe(before)
    const closed = get({}, () => {})
    await sleep(100)
    expect(fdCount()).toBe(before + 1)
    agent.destroy()
    expect(await closed).toMatchObject({ code: "ECONNRESET" })
    expect(await fdsBackTo(before)).toBe(before)
  })

  it("ioredis: connectTimeout fails the connect with its ETIMEDOUT; disconnect() while it dials cancels it at once", async () => {
    const before = fdCount()
    const Connector = await run(Ioredis.connector())
    const client = new Redis({ host: "127.0.0.1", port: peer.port, Connector, connectTimeout: 1000, retryStrategy: () => null, lazyConnect: true })
    const events: Array<unknown> = []
    client.on("error", (e) => events.push(e))
    const started = Date.now()
    expect(await rejection(client.connect())).toMatchObject({ message: "Connection is closed." })
    expect(Date.now() - started).toBeLessThan(bound)
    expect(events).toEqual([expect.objectContaining({ message: "connect ETIMEDOUT", code: "ETIMEDOUT", syscall: "connect" })])
    expect(client.status).toBe("end")
    expect(await fdsBackTo(before)).toBe(before)
    const patient = new Redis({ host: "127.0.0.1", port: peer.port, Connector, connectTimeout: 60_000, lazyConnect: true })
    patient.on("error", () => {})
    const connecting = rejection(patient.connect())
    await sleep(100)
    expect(fdCount()).toBe(before + 1)
    patient.disconnect()
    expect(await connecting).toMatchObject({ message: "Connection is closed." })
    expect(await fdsBackTo(before)).toBe(before)
  })
})
