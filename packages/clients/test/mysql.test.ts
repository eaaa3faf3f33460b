import { type Connector, ConnectError } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Effect } from "effect"
import mysql from "mysql2/promise"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Mysql2 } from "../src/index.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, mariadb, missing, reachedLate, rejection, type Server } from "./servers.js"

const connectors = [["NativeConnector", NativeConnector.layer], ["NodeConnector", NodeConnector.layer]] as const
const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, NativeConnector.layer))

const why = missing.mariadb()
describe.skipIf(why !== undefined)(`mysql2: Mysql2.stream against a private MariaDB${why === undefined ? "" : ` (skipped: ${why})`}`, () => {
  let server: Server
  beforeAll(async () => {
    server = await mariadb()
    await server.start()
  }, 60_000)
  afterAll(() => server?.remove())
  const targets = () => [{ host: "127.0.0.1", port: server.port }, { socketPath: server.socket }]

  it("queries over TCP and over the unix socket, a pool too; each fd closed once, the count back to its baseline", () =>
    eachFdClosedOnce(4, async (dial) => {
      const stream = await run(Mysql2.stream(dial))
      for (const target of targets()) {
        const connection = await mysql.createConnection({ ...target, user: "root", stream })
        const [rows] = await connection.query("SELECT 1 AS one")
        expect(rows).toEqual([{ one: 1 }])
        await connection.end()
      }
      const pool = mysql.createPool({ ...targets()[0], user: "root", stream, connectionLimit: 2 })
      const results = await Promise.all([1, 2, 3].map((n) => pool.query("SELECT ? AS n", [n])))
      expect(results.map(([rows]) => (rows as Array<{ n: number }>)[0].n)).toEqual([1, 2, 3])
      await pool.end()
    }))

  it.each([["tcp", "ConnectionRefused"], ["unix", "NotFound"]] as const)(
    "a server that starts late (%s): reached through retryTransient, each refusal typed (%s)",
    (kind, tag) =>
      reachedLate(server, tag, async (dial) => {
        const stream = await run(Mysql2.stream(dial))
        const connection = await mysql.createConnection({ ...targets()[kind === "tcp" ? 0 : 1], user: "root", stream, connectTimeout: 20_000 })
        const [rows] = await connection.query("SELECT 1 AS one")
        expect(rows).toEqual([{ one: 1 }])
        await connection.end()
      })
  )

  it.each(connectors)("over %s: a query, then a stopped server's refusal, our tagged error", async (_, layer) => {
    const stream = await Effect.runPromise(Effect.provide(Mysql2.stream(), layer))
    const connection = await mysql.createConnection({ ...targets()[0], user: "root", stream })
    expect((await connection.query("SELECT 1 AS one"))[0]).toEqual([{ one: 1 }])
    await connection.end()
    await server.stop()
    const error = await rejection(mysql.createConnection({ ...targets()[0], user: "root", stream }))
    expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
    expect(error).toMatchObject({ address: `tcp://127.0.0.1:${server.port}` })
    await server.start()
  })

  it("a stopped server: createConnection rejects with our tagged error itself (TCP and unix); no fd left", async () => {
    await server.stop()
    const before = fdCount()
    const stream = await run(Mysql2.stream())
    const tcp = await rejection(mysql.createConnection({ ...targets()[0], user: "root", stream }))
    expect(tcp).toBeInstanceOf(ConnectError.ConnectionRefused)
    expect(tcp).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", address: `tcp://127.0.0.1:${server.port}` })
    const unix = await rejection(mysql.createConnection({ ...targets()[1], user: "root", stream }))
    expect(unix).toMatchObject({ _tag: "NotFound", errno: "ENOENT", address: `unix://${server.socket}` })
    expect(await fdsBackTo(before)).toBe(before)
    await server.start()
  })
})
