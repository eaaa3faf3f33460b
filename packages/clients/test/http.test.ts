import { type Connector, ConnectError, Resolver } from "@effect-connect/core"
import { NativeConnector, NodeConnector } from "@effect-connect/native"
import { Effect, Layer } from "effect"
import { HttpClient } from "effect/http"
import * as http from "node:http"
import * as https from "node:https"
import { join } from "node:path"
import { rmSync } from "node:fs"
import { Agent, fetch, request } from "undici"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Http, SocketFactory } from "../src/index.js"
import * as Undici from "../src/Undici.js"
import { eachFdClosedOnce, fdCount, fdsBackTo, freePort, missing, reachedLate, rejection, selfSigned, tempDir } from "./servers.js"

const connectors = [["NativeConnector", NativeConnector.layer], ["NodeConnector", NodeConnector.layer]] as const
const run = <A>(effect: Effect.Effect<A, never, Connector.Connector>) => Effect.runPromise(Effect.provide(effect, NativeConnector.layer))

const hello = (req: http.IncomingMessage, res: http.ServerResponse) => res.end(`hello ${req.url}`)

const listen = (server: http.Server, at: number | string) =>
  new Promise<void>((resolve) => (typeof at === "number" ? server.listen(at, "127.0.0.1", resolve) : server.listen(at, resolve)))
const close = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })

/** An https server (self-signed) on 127.0.0.1 and a plain http one on a unix socket, in this process. */
const servers = () => {
  const cert = selfSigned()
  const secure = https.createServer(cert, hello)
  const plain = http.createServer(hello)
  const dir = tempDir()
  return {
    ca: cert.cert, secure, plain, socket: join(dir, "http.sock"), port: 0,
    async start(which: "secure" | "plain" | "both" = "both") {
      if (which !== "plain" && !this.secure.listening) await listen(this.secure, this.port)
      if (which !== "secure" && !this.plain.listening) await listen(this.plain, this.socket)
    },
    async stop() {
      if (this.secure.listening) await close(this.secure)
      if (this.plain.listening) await close(this.plain)
    },
    async remove() {
      await this.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const why = missing.openssl()
describe.skipIf(why !== undefined)(`HTTP clients over our connect, https with a self-signed certificate${why === undefined ? "" : ` (skipped: ${why})`}`, () => {
  let s: ReturnType<typeof servers>
  beforeAll(async () => {
    s = servers()
    s.port = await freePort()
    await s.start()
  })
  afterAll(() => s?.remove())
  const url = () => `https://127.0.0.1:${s.port}`

  describe("undici: Undici.connect", () => {
    it("fetch and request over https (TCP) and http (unix); each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(2, async (dial) => {
        const secure = new Agent({ connect: await run(Undici.connect(dial, { tls: { ca: s.ca } })) })
        const response = await fetch(`${url()}/a`, { dispatcher: secure })
        expect(await response.text()).toBe("hello /a")
        const { body } = await request(`${url()}/b`, { dispatcher: secure })
        expect(await body.text()).toBe("hello /b")
        await secure.close()
        const plain = new Agent({ connect: await run(Undici.connect(dial, { socketPath: s.socket })) })
        expect(await (await fetch("http://localhost/c", { dispatcher: plain })).text()).toBe("hello /c")
        await plain.close()
      }))

    it.each([["tcp", "ConnectionRefused"], ["unix", "NotFound"]] as const)(
      "a server that starts late (%s): reached through retryTransient, each refusal typed (%s)",
      (kind, tag) =>
        reachedLate(s, tag, async (dial) => {
          const options = kind === "tcp" ? { tls: { ca: s.ca } } : { socketPath: s.socket }
          const agent = new Agent({ connect: await run(Undici.connect(dial, options)) })
          const response = await fetch(kind === "tcp" ? `${url()}/late` : "http://localhost/late", { dispatcher: agent })
          expect(await response.text()).toBe("hello /late")
          await agent.close()
        })
    )

    it.each(connectors)("over %s: fetch over https, then a stopped server's refusal as fetch's cause", async (_, layer) => {
      const agent = new Agent({ connect: await Effect.runPromise(Effect.provide(Undici.connect(undefined, { tls: { ca: s.ca } }), layer)) })
      expect(await (await fetch(`${url()}/each`, { dispatcher: agent })).text()).toBe("hello /each")
      await s.stop()
      const fetched = await rejection(fetch(`${url()}/`, { dispatcher: agent }))
      expect((fetched as Error).cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      await agent.close()
      await s.start()
    })

    it("Undici.agent: fetch over https (TCP) and http (unix); each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(2, async (dial) => {
        const secure = await run(Undici.agent(dial, { connect: { tls: { ca: s.ca } } }))
        expect(await (await fetch(`${url()}/agent`, { dispatcher: secure })).text()).toBe("hello /agent")
        await secure.close()
        const plain = await run(Undici.agent(dial, { connect: { socketPath: s.socket } }))
        expect(await (await fetch("http://localhost/agent", { dispatcher: plain })).text()).toBe("hello /agent")
        await plain.destroy()
      }))

    it("a stopped server: fetch's cause and request's rejection are our tagged error itself; a dual-stack name gives AllAttemptsFailed", async () => {
      await s.stop()
      const before = fdCount()
      const agent = new Agent({ connect: await run(Undici.connect(undefined, { tls: { ca: s.ca } })) })
      const fetched = await rejection(fetch(`${url()}/`, { dispatcher: agent }))
      expect(fetched).toMatchObject({ name: "TypeError", message: "fetch failed" })
      expect((fetched as Error).cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect((fetched as Error).cause).toMatchObject({ address: `tcp://127.0.0.1:${s.port}` })
      const requested = await rejection(request(`${url()}/`, { dispatcher: agent }))
      expect(requested).toBeInstanceOf(ConnectError.ConnectionRefused)
      // A name with two addresses (a static resolver: this machine's /etc/hosts has no ::1 line).
      const dualStack = Layer.provide(NativeConnector.layerWithoutResolver, Resolver.layerStatic({ "db.test": ["::1", "127.0.0.1"] }))
      const raced = new Agent({ connect: await Effect.runPromise(Effect.provide(Undici.connect(), dualStack)) })
      const named = await rejection(fetch(`http://db.test:${s.port}/`, { dispatcher: raced }))
      await raced.close()
      expect((named as Error).cause).toMatchObject({
        _tag: "AllAttemptsFailed",
        attempts: expect.arrayContaining([
          expect.objectContaining({ error: expect.objectContaining({ _tag: "ConnectionRefused", address: `tcp://127.0.0.1:${s.port}` }) }),
          expect.objectContaining({ error: expect.objectContaining({ _tag: "ConnectionRefused", address: `tcp://[::1]:${s.port}` }) })
        ])
      })
      await agent.close()
      expect(await fdsBackTo(before)).toBe(before)
      await s.start()
    })
  })

  describe("effect/http HttpClient: Undici.layer", () => {
    const get = (path: string) => Effect.flatMap(HttpClient.get(`${url()}${path}`), (r) => r.text)
    it("GET over https; a stopped server is an HttpClientError (TransportError) whose cause is our tagged error itself", async () => {
      const layer = Layer.provide(Undici.layer(undefined, { tls: { ca: s.ca } }), NativeConnector.layer)
      expect(await Effect.runPromise(Effect.provide(Effect.scoped(get("/layer")), layer))).toBe("hello /layer")
      await s.stop()
      const error = await Effect.runPromise(Effect.provide(Effect.flip(Effect.scoped(get("/layer"))), layer))
      expect(error).toMatchObject({ _tag: "HttpClientError", reason: { _tag: "TransportError" } })
      expect(error.cause).toBeInstanceOf(ConnectError.ConnectionRefused)
      await s.start()
    })
  })

  describe("node:http(s): Http.agent", () => {
    const get = (target: string | http.RequestOptions, agent: http.Agent, client: typeof http | typeof https = https) =>
      new Promise<string>((resolve, reject) => {
        const req = typeof target === "string" ? client.get(target, { agent, ca: s.ca }) : client.get({ ...target, agent })
        req.once("error", reject)
        req.once("response", (res: http.IncomingMessage) => {
          let text = ""
          res.on("data", (d) => (text += d)).once("end", () => resolve(text))
        })
      })

    it("https over TCP, http over unix; each fd closed once, the count back to its baseline", () =>
      eachFdClosedOnce(2, async (dial) => {
        const secure = await run(Http.agent(dial, { protocol: "https:", ca: s.ca }))
        expect(await get(`${url()}/x`, secure)).toBe("hello /x")
        secure.destroy()
        const plain = await run(Http.agent(dial))
        expect(await get({ socketPath: s.socket, path: "/y" }, plain, http)).toBe("hello /y")
        plain.destroy()
      }))

    it.each(connectors)("over %s: https, then a stopped server's refusal as the request's 'error'", async (_, layer) => {
      const agent = await Effect.runPromise(Effect.provide(Http.agent(undefined, { protocol: "https:", ca: s.ca }), layer))
      expect(await get(`${url()}/each`, agent)).toBe("hello /each")
      agent.destroy()
      await s.stop()
      expect(await rejection(get(`${url()}/`, agent))).toBeInstanceOf(ConnectError.ConnectionRefused)
      await s.start()
    })

    it("a stopped server: the request's 'error' is our tagged error itself (TCP and unix); no fd left", async () => {
      await s.stop()
      const stopped = fdCount()
      const error = await rejection(get(`${url()}/`, await run(Http.agent(undefined, { protocol: "https:" }))))
      expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
      const unix = await rejection(get({ socketPath: s.socket, path: "/" }, await run(Http.agent()), http))
      expect(unix).toMatchObject({ _tag: "NotFound", address: `unix://${s.socket}` })
      expect(await fdsBackTo(stopped)).toBe(stopped)
      await s.start()
    })
  })

  describe("SocketFactory.make", () => {
    it("a connected net.Socket per target, its scope closed with it; a failed dial rejects with our error itself", async () => {
      const before = fdCount()
      const factory = await run(SocketFactory.make())
      const socket = await factory({ path: s.socket })
      const reply = await new Promise<string>((resolve) => {
        let text = ""
        socket.on("data", (d) => (text += d)).once("end", () => resolve(text))
        socket.write("GET /raw HTTP/1.0\r\n\r\n")
      })
      expect(reply).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*hello \/raw$/)
      socket.destroy()
      expect(await fdsBackTo(before)).toBe(before)
      await s.stop()
      const stopped = fdCount()
      expect(await rejection(factory({ host: "127.0.0.1", port: s.port }))).toBeInstanceOf(ConnectError.ConnectionRefused)
      expect(fdCount()).toBe(stopped)
      await s.start()
    })
  })
})
