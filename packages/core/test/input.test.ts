// Hostile input, example by example: each case is one the issue found reaching another socket,
// dying, or being encoded lossily. Every failure is the typed InvalidAddress with its field and
// reason, before any attempt (the scripted connector records none).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { Address, Connector, ScriptedConnector } from "@effect-connect/core"

const parse = (input: string) => Effect.runSync(Effect.result(Address.parse(input)))
const validate = (address: Address.Address) => Effect.runSync(Effect.result(Address.validate(address)))

describe("numeric hosts: only the dotted quad, never another inet_aton form", () => {
  const forms = [
    ["0x7f.1", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["0x7f.0.0.1", "127.0.0.1"],
    ["017.0.0.1", "15.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0177.0.0.01", "127.0.0.1"],
    ["127.0.0.01", "127.0.0.1"],
    ["0X7F.0x0.0.0X1", "127.0.0.1"],
    ["0x", "0.0.0.0"],
    ["0", "0.0.0.0"],
    ["4294967295", "255.255.255.255"]
  ] as const
  it.each(forms)("%s is refused as what inet_aton would read (%s), in validate, parse and connect", (host, aton) => {
    const reason = `is not a dotted quad: ${host} would be read as ${aton} by inet_aton`
    expect(validate(Address.tcp(host, 80))).toEqual(Result.fail(expect.objectContaining({ _tag: "InvalidAddress", field: "host", reason })))
    expect(parse(`tcp://${host}:80`)).toEqual(
      Result.fail(expect.objectContaining({ _tag: "InvalidAddress", input: `tcp://${host}:80`, field: "host", reason }))
    )
  })

  it.each([
    ["4294967296", "is not a valid IPv4 address: 4294967296"],
    ["1.2.3.4.5", "is not a valid IPv4 address: 1.2.3.4.5"],
    ["08.0.0.1", "is not a valid IPv4 address: 08.0.0.1"],
    ["127.0.0.1.", "is not a valid IPv4 address: 127.0.0.1."],
    ["example.123", "is not a valid host name: example.123 (its last label is a number)"],
    ["example.0x1f", "is not a valid host name: example.0x1f (its last label is a number)"],
    ["0xzz.1", "is not a valid host name: 0xzz.1 (its last label is a number)"]
  ])("%s: %s", (host, reason) => {
    expect(validate(Address.tcp(host, 80))).toEqual(Result.fail(expect.objectContaining({ field: "host", reason })))
  })

  it.each(["db.internal", "0x7f.example", "123.example", "1e5", "a-1.b_2", "xn--bcher-kva.example."])("%s is still a host name", (host) => {
    expect(validate(Address.tcp(host, 80))).toEqual(Result.succeed(Address.tcp(host, 80)))
  })

  it.effect("a name the Resolver maps is still checked as a name: no attempt, InvalidAddress", () =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Connector.connect(Address.tcp("0x7f.1", 80)))).toMatchObject({
        _tag: "InvalidAddress",
        field: "host",
        reason: "is not a dotted quad: 0x7f.1 would be read as 127.0.0.1 by inet_aton"
      })
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}, { "0x7f.1": ["127.0.0.1"] }))))

  it.effect("__proto__ and constructor are names a static Resolver does not have, not its prototype's", () =>
    Effect.gen(function*() {
      for (const host of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
        expect(yield* Effect.flip(Connector.connect(Address.tcp(host, 80)))).toMatchObject({ _tag: "HostNotFound", host })
      }
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}, {}))))
})

describe("IPv6 zones", () => {
  it.each([
    ["fe80::1%eth0", true],
    ["fe80::1%2", true],
    ["fe80::1%__proto__", true],
    ["fe80::1%4294967295", true],
    ["fe80::1%4294967296", false],
    ["fe80::1%02", false],
    ["fe80::1%0", false],
    ["fe80::1%a%b", false],
    ["fe80::1%a/b", false],
    ["fe80::1%a:b", false],
    ["fe80::1%a b", false],
    ["fe80::1%abcdefghijklmnop", false],
    ["fe80::1%", false]
  ])("%s: valid syntax %s (one interface, one spelling)", (host, ok) => {
    const result = validate(Address.tcp(host, 80))
    if (ok) expect(result).toEqual(Result.succeed(Address.tcp(host, 80)))
    else {
      expect(result).toEqual(Result.fail(expect.objectContaining({
        field: "host",
        reason: expect.stringMatching(/^has an invalid zone: /)
      })))
    }
  })

  it("a zone is taken as written in the URL form: no percent-decoding", () => {
    expect(parse("tcp://[fe80::1%25eth0]:80")).toEqual(Result.succeed(Address.tcp("fe80::1%25eth0", 80)))
    expect(parse("tcp://[fe80::1%a%b]:80")).toEqual(Result.fail(expect.objectContaining({
      field: "host",
      reason: expect.stringMatching(/^has an invalid zone: a%b/)
    })))
  })
})

describe("unix names: exact bytes or InvalidAddress, never U+FFFD", () => {
  it.each([
    [Address.unix("/tmp/x\uD800"), "path", "contains a lone surrogate at index 6"],
    [Address.unix("/tmp/\uDC00x"), "path", "contains a lone surrogate at index 5"],
    [Address.unix("/tmp/\uDFFF"), "path", "contains a lone surrogate at index 5"],
    [Address.unix("/tmp/\uDBFF\uDBFF\uDC00"), "path", "contains a lone surrogate at index 5"],
    [Address.abstract("x\uD800"), "name", "contains a lone surrogate at index 1"],
    [Address.abstract("\uDC7F"), "name", "contains a lone surrogate at index 0"],
    [Address.unix("/tmp/\uDCC3\uDCA9"), "path", "has escaped bytes (U+DC80..U+DCFF) at index 5 that spell UTF-8 text: write the text itself"],
    [Address.abstract("a\uDCE2\uDC82\uDCAC"), "name", "has escaped bytes (U+DC80..U+DCFF) at index 1 that spell UTF-8 text: write the text itself"]
  ])("%j: %s %s", (address, field, reason) => {
    expect(validate(address)).toEqual(Result.fail(expect.objectContaining({ _tag: "InvalidAddress", field, reason })))
  })

  it("parse refuses them too, with the input as written", () => {
    expect(parse("unix:///tmp/x\uD800")).toEqual(Result.fail(expect.objectContaining({
      input: "unix:///tmp/x\uD800", field: "path", reason: "contains a lone surrogate at index 6"
    })))
    expect(parse("unix-abstract:\uDC00")).toEqual(Result.fail(expect.objectContaining({ field: "name", reason: "contains a lone surrogate at index 0" })))
  })

  it("bytes that are not UTF-8 are kept as U+DC80..U+DCFF, and encode back to themselves", () => {
    const cases: Array<[Array<number>, string]> = [
      [[0x2f, 0x61], "/a"],
      [[0x2f, 0xff], "/\uDCFF"],
      [[0x2f, 0xc3, 0xa9], "/\u00e9"],
      [[0x2f, 0xc3], "/\uDCC3"],
      [[0xc0, 0xaf], "\uDCC0\uDCAF"],
      [[0xed, 0xa0, 0x80], "\uDCED\uDCA0\uDC80"],
      [[0xf4, 0x90, 0x80, 0x80], "\uDCF4\uDC90\uDC80\uDC80"],
      [[0xf0, 0x9f, 0x98, 0x80], "\u{1F600}"],
      [[0xef, 0xbb, 0xbf, 0x61], "\uFEFFa"]
    ]
    for (const [bytes, text] of cases) {
      expect(Address.decodeName(Uint8Array.from(bytes))).toBe(text)
      expect(Array.from(Address.encodeName(text)!)).toEqual(bytes)
    }
    expect(Address.decodeName(Uint8Array.of(0xff))).not.toBe(Address.decodeName(Uint8Array.of(0xfe)))
    expect(Address.encodeName("/tmp/x\uD800")).toBeUndefined()
  })
})

describe("unix URLs: RFC 8089 file URL authority, absolute paths, no percent-decoding", () => {
  it.each([
    ["unix://db.internal/run/app.sock", "host", "db.internal is not this machine: a unix socket URL takes an empty host or localhost (unix:///run/app.sock)"],
    ["unix://localhost", "path", "is empty"],
    ["unix:rel.sock", "path", "is relative: a unix socket path must be absolute (the working directory is not part of an address)"],
    ["unix:./rel.sock", "path", "is relative: a unix socket path must be absolute (the working directory is not part of an address)"],
    ["unix:", "path", "is empty"]
  ])("%s: %s %s", (input, field, reason) => {
    expect(parse(input)).toEqual(Result.fail(expect.objectContaining({ _tag: "InvalidAddress", input, field, reason })))
  })

  it("percent signs are part of the path", () => {
    expect(parse("unix:///tmp/a%20b")).toEqual(Result.succeed(Address.unix("/tmp/a%20b")))
    expect(Address.format(Address.unix("/tmp/a%20b"))).toBe("unix:///tmp/a%20b")
  })

  it("a constructed relative path is refused by validate and by connect; it formats as unix:rel", () => {
    expect(validate(Address.unix("rel.sock"))).toEqual(Result.fail(expect.objectContaining({ input: "unix:rel.sock", field: "path" })))
    expect(Address.format(Address.unix("localhost/run/app.sock"))).toBe("unix:localhost/run/app.sock")
  })
})

describe("connect options are checked before any attempt", () => {
  const bad: ReadonlyArray<[string, Connector.ConnectOptions, string]> = [
    ["synRetries 1.5", { linux: { synRetries: 1.5 } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got 1.5"],
    ["synRetries NaN", { linux: { synRetries: NaN } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got NaN"],
    ["synRetries 2^40", { linux: { synRetries: 2 ** 40 } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got 1099511627776"],
    ["synRetries -1", { linux: { synRetries: -1 } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got -1"],
    ["synRetries 0", { linux: { synRetries: 0 } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got 0"],
    ["synRetries 128", { linux: { synRetries: 128 } }, "linux.synRetries must be a whole number from 1 to 127 (TCP_SYNCNT), got 128"],
    ["userTimeout Infinity", { linux: { userTimeout: Infinity } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got Infinity"],
    ["userTimeout NaN", { linux: { userTimeout: NaN } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got NaN"],
    ["userTimeout -1", { linux: { userTimeout: -1 } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got -1"],
    ["userTimeout -5 millis", { linux: { userTimeout: "-5 millis" } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got \"-5 millis\""],
    ["userTimeout bogus", { linux: { userTimeout: "bogus" as never } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got \"bogus\""],
    ["userTimeout 1.5 millis", { linux: { userTimeout: "1.5 millis" } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got \"1.5 millis\""],
    ["userTimeout 25 days", { linux: { userTimeout: "25 days" } }, "linux.userTimeout must be a duration of whole milliseconds from 0 to 2147483647 (TCP_USER_TIMEOUT), got \"25 days\""],
    ["noDelay string", { noDelay: "yes" as never }, "noDelay must be a boolean, got \"yes\""],
    ["keepAlive number", { keepAlive: 1 as never }, "keepAlive must be a boolean, got 1"],
    ["reuseAddress object", { reuseAddress: {} as never }, "reuseAddress must be a boolean, got object"],
    ["linux null", { linux: null as never }, "linux must be an object, got null"],
    ["local null", { local: null as never }, "local must be an object, got null"],
    ["local.port 1.5", { local: { port: 1.5 } }, "local.port must be a whole number from 0 to 65535, got 1.5"],
    ["local.port -1", { local: { port: -1 } }, "local.port must be a whole number from 0 to 65535, got -1"],
    ["local.host inet_aton", { local: { host: "127.1" } }, "local.host is not a dotted quad: 127.1 would be read as 127.0.0.1 by inet_aton"],
    ["local.host name", { local: { host: "localhost" } }, "local.host must be an IP address to bind to, not a name: localhost"],
    ["local.host bad zone", { local: { host: "fe80::1%a%b" } }, "local.host has an invalid zone: a%b (an interface name of at most 15 characters without % / : [ ], or an index from 1)"]
  ]
  it.effect.each(bad)("%s", ([, options, reason]) =>
    Effect.gen(function*() {
      expect(yield* Effect.flip(Connector.connect(Address.tcp("127.0.0.1", 5432), options))).toMatchObject({
        _tag: "InvalidAddress",
        input: "tcp://127.0.0.1:5432",
        field: "option",
        reason
      })
      expect(yield* ScriptedConnector.events).toEqual([])
    }).pipe(Effect.provide(ScriptedConnector.layer({}))))

  it.effect("the kernel's whole ranges pass: synRetries 1 and 127, userTimeout 0 and 2^31-1 ms, local port 0", () =>
    Effect.gen(function*() {
      for (const options of [
        { linux: { synRetries: 1, userTimeout: 0 } },
        { linux: { synRetries: 127, userTimeout: "2147483647 millis" } },
        { noDelay: false, keepAlive: true, reuseAddress: true, local: { host: "127.0.0.1", port: 0 } }
      ] satisfies ReadonlyArray<Connector.ConnectOptions>) {
        const connection = yield* Connector.connect(Address.tcp("127.0.0.1", 5432), options)
        expect(connection.remote).toEqual(Address.tcp("127.0.0.1", 5432))
      }
    }).pipe(Effect.provide(ScriptedConnector.layer({ "tcp://127.0.0.1:5432": [ScriptedConnector.succeed()] }))))
})

describe("input that is not an address at all (from untyped callers): InvalidAddress, never a defect", () => {
  it.each([null, undefined, 5, {}, { _tag: "Udp" }])("Address.parse(%j) fails with field scheme", (input) => {
    expect(Effect.runSync(Effect.result(Effect.suspend(() => Address.parse(input as unknown as string))))).toEqual(
      Result.fail(expect.objectContaining({ _tag: "InvalidAddress", field: "scheme", reason: `must be a string, got ${input === null ? "null" : typeof input}` }))
    )
  })
  it.each([null, undefined, 5, "tcp://127.0.0.1:80", {}, { _tag: "Udp" }])("validate and connect with %j fail with field family", (input) => {
    const address = input as unknown as Address.Address
    expect(validate(address)).toEqual(Result.fail(expect.objectContaining({ _tag: "InvalidAddress", field: "family" })))
    const exit = Effect.runSync(Effect.exit(Effect.scoped(Connector.connect(address)).pipe(Effect.provide(ScriptedConnector.layer({})))))
    expect(exit).toEqual(expect.objectContaining({
      _tag: "Failure",
      cause: expect.objectContaining({ reasons: [expect.objectContaining({ _tag: "Fail", error: expect.objectContaining({ _tag: "InvalidAddress", field: "family" }) })] })
    }))
  })
})
