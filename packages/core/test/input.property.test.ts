// Properties of input handling: whatever the text, a typed InvalidAddress or exactly the address
// asked for; never a throw or a die. fast-check prints the seed and the shrunk counterexample of
// a failure (re-run with `{ seed, path }` in the parameters).
import { fc, test } from "@fast-check/vitest"
import { Cause, Effect, Exit } from "effect"
import { describe, expect } from "vitest"
import { Address, Connector, ScriptedConnector } from "@effect-connect/core"
import { hostileHost, hostileNumber, hostileText, hostileValue, runs } from "./arbitraries.js"

const fieldsOf: Record<Address.Address["_tag"], ReadonlyArray<string>> = {
  Tcp: ["host", "port"],
  UnixPath: ["path"],
  Abstract: ["name"],
  Unspecified: []
}

// A typed failure, or the address itself, which reads back from its URL form unchanged.
const exact = (address: Address.Address) => {
  const exit = Effect.runSyncExit(Address.validate(address))
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    expect(error._tag, Cause.pretty(exit.cause)).toBe("Some")
    if (error._tag === "Some") {
      expect(error.value._tag).toBe("InvalidAddress")
      expect(fieldsOf[address._tag]).toContain(error.value.field)
    }
    return false
  }
  expect(exit.value).toBe(address)
  expect(Effect.runSync(Address.parse(Address.format(address)))).toEqual(address)
  return true
}

// What the WHATWG URL parser (the browsers' inet_aton) reads a host as, when it reads it. Only
// for hosts without URL delimiters or characters it strips, so the URL has exactly this host.
const whatwg = (host: string): string | undefined => {
  if (!/^[A-Za-z0-9._-]+$/.test(host)) return undefined
  try {
    return new URL(`http://${host}/`).hostname
  } catch {
    return undefined
  }
}

describe("Address.validate", () => {
  test.prop([hostileHost, hostileNumber], runs)("tcp: a typed failure or the exact address; no accepted host is another IPv4 address", (host, port) => {
    if (exact(Address.tcp(host, port)) && !host.includes(":")) {
      const read = whatwg(host)
      if (read !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(read)) expect(read).toBe(host)
    }
  })

  test.prop([hostileHost], runs)("a refused inet_aton form says which address it would have reached", (host) => {
    const exit = Effect.runSyncExit(Address.validateHost(host, host))
    if (Exit.isSuccess(exit) || host.endsWith(".")) return
    const reason = Cause.findErrorOption(exit.cause).pipe((o) => (o._tag === "Some" ? o.value.reason : ""))
    const read = /would be read as (\S+) by inet_aton$/.exec(reason)
    const url = whatwg(host)
    if (read !== null) expect(read[1]).toBe(url)
    else if (url !== undefined) expect(url).not.toMatch(/^\d+\.\d+\.\d+\.\d+$/)
  })

  test.prop([hostileText, fc.boolean()], runs)("unix paths and abstract names: a typed failure or the exact address", (text, absolute) => {
    exact(Address.unix(absolute ? `/${text}` : text))
    exact(Address.abstract(text))
  })
})

describe("Address.parse", () => {
  const schemes = fc.constantFrom("tcp://", "TCP://", "unix:", "unix:/", "unix://", "unix:///", "unix://localhost/", "unix://host/", "unix-abstract:", "unspecified:", "http://", "")
  const ports = fc.oneof(fc.constant(""), hostileNumber.map((n) => `:${n}`), fc.constantFrom(":080", ":", ":1/", ":65536", ":%38%30"))
  const hosts = fc.oneof(hostileHost, hostileHost.map((h) => `[${h}]`), hostileText)
  test.prop([schemes, hosts, ports], runs)("a typed failure or an address that validates and formats back to itself", (scheme, host, port) => {
    const input = `${scheme}${host}${port}`
    const exit = Effect.runSyncExit(Address.parse(input))
    if (Exit.isFailure(exit)) {
      const error = Cause.findErrorOption(exit.cause)
      expect(error._tag === "Some" && error.value._tag === "InvalidAddress" && error.value.input === input, Cause.pretty(exit.cause)).toBe(true)
      return
    }
    expect(exact(exit.value)).toBe(true)
  })
})

describe("unix names as bytes", () => {
  test.prop([fc.uint8Array({ maxLength: 40 })], runs)("any bytes decode to text that encodes back to exactly them", (bytes) => {
    expect(Address.encodeName(Address.decodeName(bytes))).toEqual(bytes)
  })

  test.prop([hostileText], runs)("text has bytes exactly when validate accepts it, and they decode back to it", (text) => {
    const bytes = Address.encodeName(text)
    expect(bytes !== undefined).toBe(text === "" || Exit.isSuccess(Effect.runSyncExit(Address.validate(Address.abstract(text)))))
    if (bytes !== undefined) expect(Address.decodeName(bytes)).toBe(text)
    if (!/[\uD800-\uDFFF]/.test(text)) expect(bytes).toEqual(new Uint8Array(Buffer.from(text, "utf8")))
  })
})

describe("Connector.connect options", () => {
  const options = fc.record({
    noDelay: hostileValue,
    keepAlive: hostileValue,
    reuseAddress: hostileValue,
    linux: fc.oneof(hostileValue, fc.record({ synRetries: hostileValue, userTimeout: hostileValue }, { requiredKeys: [] })),
    local: fc.oneof(hostileValue, fc.record({ host: fc.oneof(hostileHost, hostileValue), port: hostileValue }, { requiredKeys: [] }))
  }, { requiredKeys: [] })
  const remote = Address.tcp("127.0.0.1", 5432)
  test.prop([options], runs)("InvalidAddress naming the option, before any attempt, or a connection to the address asked for", async (options) => {
    const exit = await Effect.runPromiseExit(Effect.scoped(Effect.gen(function*() {
      const result = yield* Effect.exit(Connector.connect(remote, options as Connector.ConnectOptions))
      return { result, events: yield* ScriptedConnector.events }
    })).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.succeed()] }))))
    expect(Exit.isSuccess(exit), Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toBe(true)
    if (Exit.isFailure(exit)) return
    const { events, result } = exit.value
    if (Exit.isSuccess(result)) {
      expect(result.value.remote).toEqual(remote)
      return
    }
    expect(Cause.findErrorOption(result.cause), Cause.pretty(result.cause)).toMatchObject({
      _tag: "Some",
      value: { _tag: "InvalidAddress", field: "option", input: "tcp://127.0.0.1:5432" }
    })
    expect(events).toEqual([])
  })
})
