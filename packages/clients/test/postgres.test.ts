import { Address, Connector, ConnectError, Resolver } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Cause, Effect, Exit, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql"
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as net from "node:net"
import { join } from "node:path"
import * as tls from "node:tls"
import pg from "pg"
import postgresJs from "postgres"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Pg, Postgres } from "../src/index.js"
import * as SqlPg from "../src/SqlPg.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, missing, pastStartup, postgres, reachedLate, rejection, retrying, selfSigned, type Server } from "./servers.js"

// postgres.js's own types do not declare its `socket` option.
const sqlOf = (options: postgresJs.Options<{}> & { readonly socket: (o: Postgres.SocketOptions) => unknown }) =>
  postgresJs(options as postgresJs.Options<{}>)

const connectors = [["NativeConnector", NativeConnector.layer], ["NodeConnector", NodeConnector.layer]] as const
const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, NativeConnector.layer))

// PostgreSQL creates its socket file (bind) a moment before it listens: a connect in between is refused.
const bindBeforeListen = ["ConnectionRefused"]

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
        }, bindBeforeListen)
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

    it.each(connectors)("over %s: a query, then a stopped server's refusal, our tagged error", async (_, layer) => {
      const stream = await Effect.runPromise(Effect.provide(Pg.stream(), layer))
      const client = new pg.Client({ host: "127.0.0.1", port: server.port, ...user, stream })
      await client.connect()
      expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }])
      await client.end()
      await server.stop()
      const error = await rejection(new pg.Client({ host: "127.0.0.1", port: server.port, ...user, stream }).connect())
      expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(error).toMatchObject({ _tag: "ConnectionRefused", address: `tcp://127.0.0.1:${server.port}` })
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

    it.each(connectors)("over %s: a query, then a stopped server's refusal as the SqlError's cause", async (_, connector) => {
      const config = { host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres", retry: Schedule.recurs(1) }
      const built = (effect: Effect.Effect<unknown, unknown, SqlClient.SqlClient>) => Effect.provide(effect, Layer.provide(SqlPg.layer(config), connector))
      expect(await Effect.runPromise(built(query))).toEqual([{ one: 1 }])
      await server.stop()
      const error = await Effect.runPromise(Effect.flip(built(query)))
      expect(error).toMatchObject({ _tag: "SqlError", reason: { _tag: "ConnectionError", cause: { _tag: "ConnectionRefused" } } })
      await up()
    })

    it("the failure as runMain prints it (Cause.pretty) shows our typed cause: its tag, the socket path", async () => {
      const missingDir = join(server.dir, "missing")
      const layer = SqlPg.layer({ host: missingDir, port: server.port, username: "postgres", database: "postgres", retry: Schedule.recurs(0) })
      const exit = await Effect.runPromiseExit(Effect.provide(query, Layer.provide(layer, NativeConnector.layer)))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isSuccess(exit)) return
      const printed = Cause.pretty(exit.cause)
      expect(printed).toContain("SqlError: PgConnection: Failed to connect")
      expect(printed).toContain(`[cause]: NotFound: connect unix://${missingDir}/.s.PGSQL.${server.port} failed with ENOENT`)
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
        }, bindBeforeListen)
    )

    it("the socket carries host and port, as postgres.js's own (its TLS servername and messages read them); none for a path", async () => {
      const socket = await run(Postgres.socket())
      const tcp = socket({ host: ["db.test", "other.test"], port: [6543, 1] })
      expect(tcp).toMatchObject({ host: "db.test", port: 6543 })
      const unix = socket({ host: ["db.test"], port: [6543], path: server.socket })
      expect(unix).not.toHaveProperty("host")
      for (const s of [tcp, unix]) {
        s.on("error", () => {})
        s.destroy()
      }
    })

    it.skipIf(missing.openssl() !== undefined)(`TLS is verified for the configured host (the socket's host is the servername)${missing.openssl() === undefined ? "" : ` (skipped: ${missing.openssl()})`}`, async () => {
      // A server that answers the SSLRequest with 'S', does TLS with a certificate for db.test only,
      // and answers the startup message with an ErrorResponse (FATAL 28000 "nope").
      const cert = selfSigned("db.test")
      const fields = Buffer.from("SFATAL\0C28000\0Mnope\0\0")
      const refusal = Buffer.concat([Buffer.from("E"), Buffer.alloc(4), fields])
      refusal.writeInt32BE(4 + fields.length, 1)
      const fake = net.createServer((raw) =>
        raw.once("data", () => {
          raw.write("S")
          const secure = new tls.TLSSocket(raw, { isServer: true, ...cert })
          secure.on("error", () => {})
          secure.once("data", () => secure.end(refusal))
        }))
      await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve))
      const port = (fake.address() as net.AddressInfo).port
      const named = Layer.provide(NativeConnector.layerWithoutResolver, Resolver.layerStatic({ "db.test": ["127.0.0.1"] }))
      const socket = await Effect.runPromise(Effect.provide(Postgres.socket(), named))
      const sql = sqlOf({ host: "db.test", port, ssl: { ca: cert.cert }, socket, max: 1, connect_timeout: 10 })
      try {
        expect(await rejection(sql`SELECT 1`)).toMatchObject({ name: "PostgresError", code: "28000", message: "nope" })
      } finally {
        await sql.end({ timeout: 0 })
        await new Promise((resolve) => fake.close(resolve))
      }
    })

    it.each(connectors)("over %s: a query, then a stopped server's refusal, our tagged error", async (_, layer) => {
      const socket = await Effect.runPromise(Effect.provide(Postgres.socket(), layer))
      const options = { host: "127.0.0.1", port: server.port, username: "postgres", database: "postgres", socket, max: 1 }
      const sql = sqlOf(options)
      expect(Array.from(await sql`SELECT 1 AS one`)).toEqual([{ one: 1 }])
      await sql.end()
      await server.stop()
      const stopped = sqlOf(options)
      const error = await rejection(stopped`SELECT 1`)
      await stopped.end()
      expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
      await up()
    })

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
