// Hostile input for the property tests: the pieces that broke promises before (lone surrogates,
// NUL, prototype keys, huge and fractional numbers, inet_aton forms, percent escapes, zones) mixed
// with plain text, so that both the refusals and the exact successes are exercised.
// Also imported by packages/native's and packages/unix's tests.
import { fc } from "@fast-check/vitest"

/** How many runs a property gets: enough to matter in CI, few enough to stay in seconds. */
export const runs = { numRuns: 400 } as const

const pieces = fc.constantFrom(
  "\uD800", "\uDBFF", "\uDC00", "\uDC7F", "\uDC80", "\uDCC3", "\uDCA9", "\uDCFF", "\uDFFF", "\uD83D\uDE00", "\uFFFD", "\uFEFF",
  "\0", "%", "%00", "%2F", "%25", "%2e%2e", "__proto__", "constructor", "toString", "hasOwnProperty",
  ".", "..", "/", "//", "\\", "[", "]", ":", "::", "@", "?", "#", " ", "-", "_", "localhost", "é", "\u0301",
  "0x", "0X7f", "017", "08", "255", "256", "4294967295", "4294967296", "1e3", "Infinity", "NaN"
)

/** Text built from the pieces above, plain characters and any UTF-16 code unit. */
export const hostileText: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: pieces },
    { weight: 2, arbitrary: fc.constantFrom(..."abcxyz0123456789.") },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }
  ),
  { maxLength: 12 }
).map((parts) => parts.join(""))

// One inet_aton part: decimal, 0-octal or 0x-hex, of any size.
const atonPart = fc.oneof(fc.nat({ max: 300 }), fc.nat(), fc.constantFrom(2 ** 24, 2 ** 32 - 1, 2 ** 32, 2 ** 40)).chain((n) =>
  fc.constantFrom(String(n), `0${n.toString(8)}`, `0x${n.toString(16)}`, `0X${n.toString(16).toUpperCase()}`)
)

/** The IPv4 forms inet_aton reads besides the dotted quad (and some it does not). */
export const numericHost: fc.Arbitrary<string> = fc.array(atonPart, { minLength: 1, maxLength: 5 }).map((p) => p.join("."))

/** IPv6 literals, with zones hostile and plain. */
export const ipv6Host: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom("::1", "fe80::1", "::ffff:127.0.0.1", "2001:db8::1", "::", "1:2:3:4:5:6:7:8", "::1::"),
  fc.option(fc.oneof(hostileText, fc.constantFrom("lo", "1", "01", "0", "4294967296", "__proto__", "constructor", "toString")))
).map(([address, zone]) => (zone === null ? address : `${address}%${zone}`))

/** Hosts: every kind above, dotted quads on loopback and a few names. */
export const hostileHost: fc.Arbitrary<string> = fc.oneof(
  numericHost,
  ipv6Host,
  hostileText,
  fc.constantFrom("127.0.0.1", "127.0.0.2", "db.test", "__proto__", "constructor", "a.123", "0x7f.example")
)

/** Numbers a port, a count or a duration in milliseconds should never be taken as. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -10, max: 70000 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 1.5, 2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER, 0, 1, 127, 128, 255, 65535)
)

/** Anything a JavaScript caller might pass where a typed option is expected. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileNumber,
  fc.boolean(),
  hostileText,
  fc.constantFrom(null, {}, [], "bogus", "1 second", "-5 millis", "1.5 millis", "25 days", 10n, -1n, [1, 0], [-1, 0])
)
