import { type Connector, ConnectError } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Ioredis } from "../src/index.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, missing, reachedLate, redis, rejection, retrying, type Server } from "./servers.js"

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

  it("a stopped server: connect() and the commands it held reject with our tagged error itself; so does the 'error' event; no fd left", async () => {
    await server.stop()
    const before = fdCount()
    const Connector = await run(Ioredis.connector())
    const client = new Redis({ host: "127.0.0.1", port: server.port, Connector, lazyConnect: true })
    const events: Array<unknown> = []
    client.on("error", (e) => events.push(e))
    const connecting = rejection(client.connect())
    const held = rejection(client.get("k"))
    const error = await connecting
    expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
    expect(error).toMatchObject({ _tag: "ConnectionRefused", errno: "ECONNREFUSED", address: `tcp://127.0.0.1:${server.port}` })
    expect(await held).toBe(error)
    expect(events).toEqual([error])
    const unix = new Redis({ path: server.socket, Connector, lazyConnect: true })
    unix.on("error", () => {})
    expect(await rejection(unix.connect())).toMatchObject({ _tag: "NotFound", errno: "ENOENT", address: `unix://${server.socket}` })
    expect(await fdsBackTo(before)).toBe(before)
    await server.start()
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
