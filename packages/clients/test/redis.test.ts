import { type Connector, ConnectError } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Ioredis from "../src/Ioredis.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, missing, reachedLate, redis, rejection, retrying, type Server } from "./servers.js"

const connectors = [["NativeConnector", NativeConnector.layer], ["NodeConnector", NodeConnector.layer]] as const
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, NativeConnector.layer))

const why = missing.redis()
describe.skipIf(why !== undefined)(`ioredis: Ioredis.connector against a private redis-server${why === undefined ? "" : ` (skipped: ${why})`}`, () => {
  let server: Server
  beforeAll(async () => {
    server = await redis()
    await server.start()
  })
  afterAll(() => server?.remove())
  const targets = () => [{ host: "127.0.0.1", port: server.port }, { path: server.socket }]

  it("commands over TCP and over the unix socket; each fd closed once, the count back to its baseline", () =>
    eachFdClosedOnce(2, async (dial) => {
      const Connector = await run(Ioredis.connector(dial))
      for (const target of targets()) {
        const client = new Redis({ ...target, Connector })
        await client.set("k", JSON.stringify(target))
        expect(await client.get("k")).toBe(JSON.stringify(target))
        await client.quit()
      }
    }))

  it.each([["tcp", "ConnectionRefused"], ["unix", "NotFound"]] as const)(
    "a server that starts late (%s): reached through retryTransient, each refusal typed (%s)",
    (kind, tag) =>
      reachedLate(server, tag, async (dial) => {
        const client = new Redis({ ...targets()[kind === "tcp" ? 0 : 1], Connector: await run(Ioredis.connector(dial)) })
        expect(await client.ping()).toBe("PONG")
        await client.quit()
      })
  )

  it("a stopped server: the 'error' event is our tagged error itself; connect() rejects as from a refused net.connect; no fd left", async () => {
    await server.stop()
    const before = fdCount()
    const Connector = await run(Ioredis.connector())
    for (const [target, expected] of [
      [{ host: "127.0.0.1", port: server.port }, { _tag: "ConnectionRefused", errno: "ECONNREFUSED", address: `tcp://127.0.0.1:${server.port}` }],
      [{ path: server.socket }, { _tag: "NotFound", errno: "ENOENT", address: `unix://${server.socket}` }]
    ] as const) {
      const client = new Redis({ ...target, Connector, lazyConnect: true, retryStrategy: () => null })
      const events: Array<unknown> = []
      client.on("error", (e) => events.push(e))
      expect(await rejection(client.connect())).toMatchObject({ message: "Connection is closed." })
      expect(events).toHaveLength(1)
      expect(events[0]).toBeInstanceOf("path" in target ? ConnectError.NotFound : ConnectError.ConnectionRefused)
      expect(events[0]).toMatchObject(expected)
      expect(client.status).toBe("end")
    }
    expect(await fdsBackTo(before)).toBe(before)
    await server.start()
  })

  it.each(connectors)("over the default dial (%s): a server restart, the reconnects refused with our typed error, then ready again", async (_, layer) => {
    const Connector = await Effect.runPromise(Effect.provide(Ioredis.connector(), layer))
    const client = new Redis({ host: "127.0.0.1", port: server.port, Connector })
    const events: Array<unknown> = []
    client.on("error", (e) => events.push(e))
    expect(await client.ping()).toBe("PONG")
    await server.stop()
    for (let i = 0; i < 200 && events.length < 2; i++) await sleep(10)
    expect(client.status).not.toBe("end")
    expect(events.length).toBeGreaterThanOrEqual(2)
    expect(events.at(-1)).toMatchObject({ _tag: "ConnectionRefused", address: `tcp://127.0.0.1:${server.port}` })
    await server.start()
    const ready = await Promise.race([new Promise((resolve) => client.once("ready", () => resolve("ready"))), sleep(10_000)])
    expect(ready).toBe("ready")
    expect(await client.ping()).toBe("PONG")
    await client.quit()
  })

  it("disconnect() while it dials cancels the dial: nothing leaks, no attempt after it", async () => {
    await server.stop()
    const before = fdCount()
    const tags: Array<string> = []
    const Connector = await run(Ioredis.connector(retrying(tags)))
    const client = new Redis({ host: "127.0.0.1", port: server.port, Connector, lazyConnect: true })
    client.on("error", () => {})
    const connecting = rejection(client.connect())
    await new Promise((resolve) => setTimeout(resolve, 100))
    client.disconnect()
    await connecting
    const seen = tags.length
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(tags.length).toBe(seen)
    expect(await fdsBackTo(before)).toBe(before)
    await server.start()
  })
})
