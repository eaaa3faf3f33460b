import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { Address } from "@effect-connect/core"

const parse = (input: string) => Effect.runSync(Effect.result(Address.parse(input)))

describe("Address.parse", () => {
  it.each([
    ["tcp://127.0.0.1:5432", Address.tcp("127.0.0.1", 5432)],
    ["tcp://[::1]:80", Address.tcp("::1", 80)],
    ["tcp://[fe80::1%eth0]:80", Address.tcp("fe80::1%eth0", 80)],
    ["tcp://[::ffff:127.0.0.1]:80", Address.tcp("::ffff:127.0.0.1", 80)],
    ["tcp://db.internal:5432", Address.tcp("db.internal", 5432)],
    ["tcp://localhost:1/", Address.tcp("localhost", 1)],
    ["unix:///run/app.sock", Address.unix("/run/app.sock")],
    ["unix://localhost/run/app.sock", Address.unix("/run/app.sock")],
    ["unix://LOCALHOST/run/app.sock", Address.unix("/run/app.sock")],
    ["unix:/run/app.sock", Address.unix("/run/app.sock")],
    ["unix-abstract:name", Address.abstract("name")],
    ["unspecified:", Address.unspecified]
  ])("reads %s", (input, expected) => {
    expect(parse(input)).toEqual(Result.succeed(expected))
    expect(Address.format(expected)).toBe(input.replace(/\/$/, "").replace(/^unix:(\/\/localhost)?\/(?!\/)/i, "unix:///"))
  })

  it.each([
    ["tcp://127.0.0.1:0", "port", "must be a whole number from 1 to 65535, got 0"],
    ["tcp://127.0.0.1:70000", "port", "must be a whole number from 1 to 65535, got 70000"],
    ["tcp://127.0.0.1", "port", "is missing"],
    ["tcp://127.0.0.1:http", "port", "is not a number: http"],
    ["tcp://:80", "host", "is empty"],
    ["tcp://[::1::2]:80", "host", "is not a valid IPv6 address: ::1::2"],
    ["tcp://[1:2:3:4:5:6:7:8:9]:80", "host", "is not a valid IPv6 address: 1:2:3:4:5:6:7:8:9"],
    ["tcp://[127.0.0.1]:80", "host", "is not a valid IPv6 address: 127.0.0.1"],
    ["tcp://::1:80", "host", "an IPv6 address must be in brackets: tcp://[::1]:80"],
    ["tcp://[::1:80", "host", "has a [ that is never closed: write the IPv6 address as [::1]:80"],
    ["tcp://[::1]x:80", "host", "has text after the ] of an IPv6 address: a port follows it as [::1]:80"],
    ["tcp://256.1.1.1:80", "host", "is not a valid IPv4 address: 256.1.1.1"],
    ["tcp://bad_host!:80", "host", "is not a valid host name: bad_host!"],
    ["tcp://a\0b:80", "host", "contains a NUL byte"],
    ["unix:///tmp/a\0b", "path", "contains a NUL byte"],
    ["unix://", "path", "is empty"],
    ["unix-abstract:", "name", "is empty"],
    ["http://example:80", "scheme", "http is not one of tcp, unix, unix-abstract"],
    ["127.0.0.1:80", "scheme", "is missing: expected tcp://, unix:// or unix-abstract:"],
    ["/run/app.sock", "scheme", "is missing: expected tcp://, unix:// or unix-abstract:"]
  ])("rejects %j: %s %s", (input, field, reason) => {
    const result = parse(input)
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure).toMatchObject({ _tag: "InvalidAddress", input, field, reason })
      expect(result.failure.message).toBe(`invalid address ${JSON.stringify(input)}: ${field} ${reason}`)
    }
  })

  it("validates constructed addresses the same way", () => {
    const result = Effect.runSync(Effect.result(Address.validate(Address.tcp("::1", 70000))))
    expect(result).toEqual(Result.fail(expect.objectContaining({ field: "port", input: "tcp://[::1]:70000" })))
    expect(Effect.runSync(Address.validatePort("x", 0, "local"))).toBe(0)
  })
})
