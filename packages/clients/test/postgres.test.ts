import { Address, Connector, ConnectError } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import postgresJs from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Pg, Postgres, SqlPg } from "../src/index.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, missing, pastStartup, postgres, reachedLate, rejection, retrying, type Server } from "./servers.js"

// postgres.js's own types do not declare its `socket` option.
const sqlOf = (options: postgresJs.Options<{}> & { readonly socket: (o: Postgres.SocketOptions) => Promise<unknown> }) =>
  postgresJs(options as postgresJs.Options<{}>)

const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, NativeConnector.layer))

const why = missing.postgres()
describe.skipIf(why !== undefined)(`PostgreSQL clients over our connect${why === undefined ? "" : ` (skipped: ${why})`}`, () => {
  let server: Server
  beforeAll(async () => {
    server = await postgres()
    await server.start()
  })
  afterAll(() => server?.remove())
  // Each test leaves the server running.
  const up = () => server.start()
  const hosts = () => [["tcp", "127.0.0.1"], ["unix", server.dir]] as const
  const user = { user: "postgres", database: "postgres" }

  describe("pg: Pg.stream", () => {
    it("Client over TCP and over the unix socket, a Pool too; each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(4, async (dial) => {
        const stream = await run(Pg.stream(dial))
        for (const [, host] of hosts()) {
          const client = new pg.Client({ host, port: server.port, ...user, stream })
          await client.connect()
          expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }])
          await client.end()
        }
        const pool = new pg.Pool({ host: "127.0.0.1", port: server.port, ...user, stream, max: 2 })
        const results = await Promise.all([1, 2, 3].map((n) => pool.query("SELECT $1::int AS n", [n])))
        expect(results.map((r) => r.rows[0].n)).toEqual([1, 2, 3])
        await pool.end()
      }))

    it.each([["tcp", "ConnectionRefused"], ["unix", "NotFound"]] as const)(
      "a server that starts late (%s): reached through retryTransient, each refusal typed (%s)",
      (kind, tag) =>
        reachedLate(server, tag, async (dial) => {
          const stream = await run(Pg.stream(dial))
          const host = kind === "tcp" ? "127.0.0.1" : server.dir
          const client = await pastStartup(async () => {
            const client = new pg.Client({ host, port: server.port, ...user, stream })
            await client.connect()
            return client
          })
          expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }])
          await client.end()
        })
    )

    it("a stopped server: client.connect() rejects with our tagged error itself (TCP and unix); no fd left", async () => {
      await server.stop()
      const before = fdCount()
      const stream = await run(Pg.stream())
      const tcp = await rejection(new pg.Client({ host: "127.0.0.1", port: server.port, ...user, stream }).connect())
      expect(tcp).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(tcp).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", syscall: "connect", address: `tcp://127.0.0.1:${server.port}` })
      const unix = await rejection(new pg.Client({ host: server.dir, port: server.port, ...user, stream }).connect())
      expect(unix).toMatchObject({ _tag: "NotFound", errno: "ENOENT", syscall: "connect", address: `unix://${server.socket}` })
      expect(await fdsBackTo(before)).toBe(before)
      await up()
    })

    it("a client ended while it dials (connectionTimeoutMillis) leaks nothing", async () => {
      await server.stop()
      const before = fdCount()
      const tags: Array<string> = []
      const stream = await run(Pg.stream(retrying(tags)))
      const error = await rejection(new pg.Client({ host: "127.0.0.1", port: server.port, ...user, stream, connectionTimeoutMillis: 200 }).connect())
      expect(error).toMatchObject({ message: "timeout expired" })
      const seen = tags.length
      await new Promise((resolve) => setTimeout(resolve, 200))
      // The retry loop was interrupted with the client: no attempt after it.
      expect(tags.length).toBe(seen)
      expect(await fdsBackTo(before)).toBe(before)
      await up()
    })
  })

  describe("@effect/sql-pg: SqlPg.layer", () => {
    const query = Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ one: number }>`SELECT 1 AS one`)
    const runSql = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>, layer: Layer.Layer<SqlClient.SqlClient, unknown, Connector.Connector>) =>
      Effect.runPromise(Effect.provide(effect, Layer.provide(layer, NativeConnector.layer)))

    it("SqlClient over TCP and over the unix socket, in one line; each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(2, async (dial) => {
        for (const [, host] of hosts()) {
          expect(await runSql(query, SqlPg.layer({ host, port: server.port, username: "postgres", database: "postgres", dial }))).toEqual([{ one: 1 }])
        }
      }))

    it("dials where @effect/sql-pg would: a url's authority, its host and port parameters (a socket directory), a path", () =>
      eachFdClosedOnce(3, async (dial) => {
        const dialed: Array<string> = []
        const recording: typeof dial = (address) => Effect.tap(dial(address), () => Effect.sync(() => dialed.push(Address.format(address))))
        const urls = [
          `postgres://postgres@127.0.0.1:${server.port}/postgres`,
          `postgres://postgres@localhost:1/postgres?host=${encodeURIComponent(server.dir)}&port=${server.port}`
        ]
        for (const url of urls) {
          expect(await runSql(query, SqlPg.layer({ url: Redacted.make(url), dial: recording }))).toEqual([{ one: 1 }])
        }
        expect(await runSql(query, SqlPg.layer({ path: server.socket, username: "postgres", database: "postgres", dial: recording }))).toEqual([{ one: 1 }])
        expect(dialed).toEqual([`tcp://127.0.0.1:${server.port}`, `unix://${server.socket}`, `unix://${server.socket}`])
      }))

    it("a server that starts late: reached through the layer's retries, each refusal typed", () =>
      reachedLate(server, "ConnectionRefused", async (dial) => {
        expect(await runSql(query, SqlPg.layer({ host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres", dial }))).toEqual([{ one: 1 }])
      }))

    it("57P03: a server that is not accepting connections yet (a standby, then promoted): the layer keeps retrying", async () => {
      await server.stop()
      const data = join(server.dir, "data")
      writeFileSync(join(data, "standby.signal"), "")
      const standby = new (server.constructor as typeof Server)(
        "standby", server.dir, server.port, server.socket,
        [...server.command, "-c", "hot_standby=off"], /entering standby mode/, "SIGINT", server.user, server.bin
      )
      await standby.start()
      try {
        const startingUp = await rejection(new pg.Client({ host: "127.0.0.1", port: server.port, ...user }).connect())
        expect(startingUp).toMatchObject({ code: "57P03" })
        setTimeout(() => execFileSync(join(server.bin, "pg_ctl"), ["promote", "-D", data], { stdio: "ignore", ...server.user }), 400)
        const started = Date.now()
        expect(await runSql(query, SqlPg.layer({ host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres" }))).toEqual([{ one: 1 }])
        expect(Date.now() - started).toBeGreaterThanOrEqual(350)
      } finally {
        await standby.stop()
      }
      await up()
    })

    it("a stopped server: the layer fails with SqlError whose reason's cause is our tagged error itself", async () => {
      await server.stop()
      const layer = SqlPg.layer({ host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres", retry: Schedule.recurs(1) })
      const error = await Effect.runPromise(Effect.flip(Effect.provide(query, Layer.provide(layer, NativeConnector.layer))))
      expect(error).toMatchObject({ _tag: "SqlError", reason: { _tag: "ConnectionError" } })
      expect(error.reason.cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      await up()
    })
  })

  describe("postgres.js: Postgres.socket", () => {
    it("queries over TCP and over the unix socket; each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(2, async (dial) => {
        const socket = await run(Postgres.socket(dial))
        for (const [, host] of hosts()) {
          const sql = sqlOf({ host, port: server.port, username: "postgres", database: "postgres", socket, max: 1 })
          expect(Array.from(await sql`SELECT 1 AS one`)).toEqual([{ one: 1 }])
          await sql.end()
        }
      }))

    it.each([["tcp", "ConnectionRefused"], ["unix", "NotFound"]] as const)(
      "a server that starts late (%s): reached through retryTransient, each refusal typed (%s)",
      (kind, tag) =>
        reachedLate(server, tag, async (dial) => {
          const socket = await run(Postgres.socket(dial))
          const host = kind === "tcp" ? "127.0.0.1" : server.dir
          const rows = await pastStartup(async () => {
            const sql = sqlOf({ host, port: server.port, username: "postgres", database: "postgres", socket, max: 1 })
            try {
              return Array.from(await sql`SELECT 1 AS one`)
            } finally {
              await sql.end()
            }
          })
          expect(rows).toEqual([{ one: 1 }])
        })
    )

    it("a stopped server: the query rejects with our tagged error itself", async () => {
      await server.stop()
      const socket = await run(Postgres.socket())
      const sql = sqlOf({ host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres", socket, max: 1 })
      const error = await rejection(sql`SELECT 1`)
      await sql.end()
      expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(error).toMatchObject({ _tag: "ConnectionRefused", address: `tcp://127.0.0.1:${server.port}` })
      await up()
    })
  })
})
