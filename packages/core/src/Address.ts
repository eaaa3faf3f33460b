/**
 * Where to connect: a TCP host and port, an AF_UNIX path or abstract name, or the unspecified
 * address that dissolves a datagram association. Constructors are total; `validate` and `parse`
 * say what is wrong with bad input, field by field, before any syscall. An address that passes
 * is the one socket it names: no numeric host form that getaddrinfo would read as another
 * address, no unix name whose text has no exact bytes, no relative path.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { InvalidAddress } from "./ConnectError.js"
import * as check from "./internal/check.js"
import * as ip from "./internal/ip.js"
import * as name from "./internal/name.js"
import { argument, shown } from "./internal/options.js"

/**
 * A TCP (or, for a datagram socket, UDP) endpoint. `host` is an IPv4 or IPv6 literal, or a name
 * that a `Resolver` turns into literals.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tcp {
  readonly _tag: "Tcp"
  readonly host: string
  readonly port: number
}

/**
 * An AF_UNIX socket file.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixPath {
  readonly _tag: "UnixPath"
  readonly path: string
}

/**
 * A Linux abstract AF_UNIX name: no file, the name lives in the network namespace.
 *
 * @since 0.1.0
 * @category models
 */
export interface Abstract {
  readonly _tag: "Abstract"
  readonly name: string
}

/**
 * AF_UNSPEC: connecting a datagram socket to it dissolves the association.
 *
 * @since 0.1.0
 * @category models
 */
export interface Unspecified {
  readonly _tag: "Unspecified"
}

/**
 * An AF_UNIX address: a socket file or an abstract name.
 *
 * @since 0.1.0
 * @category models
 */
export type Unix = UnixPath | Abstract

/**
 * Any address this library connects to, or (`Unspecified`) dissolves a datagram association with.
 *
 * @since 0.1.0
 * @category models
 */
export type Address = Tcp | UnixPath | Abstract | Unspecified

/**
 * A TCP address, unchecked: `validate` or a connect says what is wrong with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tcp = (host: string, port: number): Tcp => ({ _tag: "Tcp", host, port })

/**
 * An AF_UNIX socket file's address, unchecked: `validate` or a connect says what is wrong with it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unix = (path: string): UnixPath => ({ _tag: "UnixPath", path })

/**
 * A Linux abstract AF_UNIX name (no leading NUL: the connect adds it), unchecked.
 *
 * @since 0.1.0
 * @category constructors
 */
export const abstract = (name: string): Abstract => ({ _tag: "Abstract", name })

/**
 * AF_UNSPEC, the one `Unspecified` address.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unspecified: Unspecified = { _tag: "Unspecified" }

/**
 * 4 or 6 for an IP literal host, `undefined` for a name that needs resolving (and for anything
 * that is not a TCP address with a string host).
 *
 * @since 0.1.0
 * @category getters
 */
export const ipVersion = (address: Tcp): 4 | 6 | undefined => {
  // An untyped caller's non-address, or a host that is no string, is no IP literal either.
  const host: unknown = (address as Tcp | null | undefined)?.host
  return typeof host === "string" ? ip.ipVersion(host) : undefined
}

/**
 * The URL form `parse` reads back: `tcp://127.0.0.1:80`, `tcp://[::1]:80`, `unix:///run/app.sock`,
 * `unix-abstract:name`, `unspecified:`. Text is written as it is, never percent-encoded. A relative
 * unix path, which no check accepts, is written `unix:rel.sock` (so it never reads back as a host).
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (address: Address): string => {
  if (typeof address !== "object" || address === null) return shown(address)
  switch (address._tag) {
    case "Tcp": {
      const host = text(address.host)
      return `tcp://${host.includes(":") ? `[${host}]` : host}:${typeof address.port === "number" ? address.port : shown(address.port)}`
    }
    case "UnixPath": {
      const path = text(address.path)
      return path.startsWith("/") ? `unix://${path}` : `unix:${path}`
    }
    case "Abstract":
      return `unix-abstract:${text(address.name)}`
    case "Unspecified":
      return "unspecified:"
    default:
      return shown(address)
  }
}

// A field of an address from an untyped caller, for `format`: a symbol or an object without
// toString would throw in a template.
const text = (u: unknown): string => typeof u === "string" ? u : shown(u)

const invalid = (input: string, field: InvalidAddress["field"], reason: string) =>
  Effect.fail(new InvalidAddress({ input, field, reason }))

const fromProblem = <A>(problem: InvalidAddress | undefined, value: A): Effect.Effect<A, InvalidAddress> =>
  problem === undefined ? Effect.succeed(value) : Effect.fail(problem)

/**
 * Which ports are allowed: a connect needs 1..65535; a local bind may ask for 0 (any port).
 *
 * @since 0.1.0
 * @category models
 */
export type PortRule = check.PortRule

/**
 * Checks a port.
 *
 * @since 0.1.0
 * @category validation
 */
export const validatePort = (input: string, port: number, rule: PortRule = "remote"): Effect.Effect<number, InvalidAddress> =>
  Effect.suspend(() => fromProblem(check.portProblem(() => input, port, rule), port))

/**
 * Checks a host: a dotted quad, an IPv6 literal (with an optional zone), or a host name. The
 * other forms inet_aton(3) reads as IPv4 (`127.1`, `0x7f.1`, `2130706433`, `017.0.0.1`) are
 * refused, not looked up: getaddrinfo would connect them to an address that no allow-list saw.
 * So is a name whose last label is a number (RFC 3696 section 2).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateHost = (input: string, host: string): Effect.Effect<string, InvalidAddress> =>
  Effect.suspend(() => fromProblem(check.hostProblem(() => input, host), host))

/**
 * What is wrong with an address, or `undefined`: `validate` without the effect, for code that
 * checks on every call. `input` is only formatted when there is a problem.
 *
 * @since 0.1.0
 * @category validation
 */
export const problem = (address: Address, rule: PortRule = "remote", input: () => string = () => format(address)): InvalidAddress | undefined =>
  check.addressProblem(input, address, rule)

/**
 * Checks an address before any syscall:
 * - a TCP host as `validateHost` says, and the port by `rule`;
 * - a unix path: not empty, absolute, no NUL byte, and text that has bytes (see `encodeName`);
 * - an abstract name: not empty, and text that has bytes (a NUL byte is allowed: the kernel
 *   takes the name byte for byte).
 *
 * Path length is left to the platform layer, which knows its sun_path size and reports
 * `NameTooLong` with the limit.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <A extends Address>(address: A, rule: PortRule = "remote"): Effect.Effect<A, InvalidAddress> =>
  Effect.suspend(() => fromProblem(problem(address, rule), address))

/**
 * The bytes the kernel sees for a unix path or abstract name: UTF-8, except that a lone
 * U+DC80..U+DCFF stands for the single byte 0x80..0xFF (Python's "surrogateescape"), so a name
 * the kernel reported that is not UTF-8 is kept exactly (see `decodeName`). `undefined` for text
 * that has no bytes: any other lone surrogate, or escapes that would spell UTF-8 text (a second
 * spelling of another name), and for anything that is not a string. Never lossy: nothing becomes
 * U+FFFD.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeName = (text: string): Uint8Array | undefined => {
  if (typeof text !== "string") return undefined
  const bytes = name.encode(text)
  return "reason" in bytes ? undefined : bytes
}

/**
 * The text of a unix path or abstract name the kernel reported: UTF-8, with each byte that is
 * not part of well-formed UTF-8 as the lone surrogate U+DC80..U+DCFF. Two different byte strings
 * never give the same text, and `encodeName` gives the bytes back. Throws an Error naming the
 * argument for anything that is not a Uint8Array.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decodeName = (bytes: Uint8Array): string => {
  if (!(bytes instanceof Uint8Array)) throw argument("Address.decodeName", "bytes", "a Uint8Array", bytes)
  return name.decode(bytes)
}

/**
 * Reads the URL form, and only an address that `validate` accepts:
 * - `tcp://host:port`, `tcp://[v6]:port`, `tcp://[fe80::1%eth0]:port` (the zone after a bare `%`,
 *   as `format` writes it);
 * - `unix:///run/app.sock`, `unix://localhost/run/app.sock` or `unix:/run/app.sock`: the file URL
 *   forms of RFC 8089, where an empty authority or `localhost` means this machine. Any other host
 *   is `InvalidAddress` (a socket file on another machine cannot be connected to), and so is a
 *   relative path (`unix:rel.sock`);
 * - `unix-abstract:name`, `unspecified:`.
 *
 * Nothing is percent-decoded: `%` is itself, in paths, names and hosts alike. A socket path is
 * bytes the kernel compares exactly, and `format` writes it as it is; decoding would give one
 * file two spellings and make `format` and `parse` disagree.
 *
 * @example
 * ```ts
 * import { Address } from "@effect-connect/core"
 * import { Effect } from "effect"
 *
 * // Fails with `InvalidAddress { field: "port" }`: 70000 is no port.
 * const bad = Address.parse("tcp://127.0.0.1:70000")
 * const db = Effect.runSync(Address.parse("unix:///run/postgresql/.s.PGSQL.5432"))
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Effect.Effect<Address, InvalidAddress> => {
  if (typeof input !== "string") return invalid(shown(input), "scheme", `must be a string, got ${input === null ? "null" : typeof input}`)
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input)
  if (scheme === null) return invalid(input, "scheme", "is missing: expected tcp://, unix:// or unix-abstract:")
  const rest = input.slice(scheme[0].length)
  switch (scheme[1]!.toLowerCase()) {
    case "tcp":
      return parseTcp(input, rest)
    case "unix":
      return parseUnix(input, rest)
    case "unix-abstract":
      return checked(input, abstract(rest))
    case "unspecified":
      return rest === "" ? Effect.succeed(unspecified) : invalid(input, "scheme", "unspecified: takes no address")
    default:
      return invalid(input, "scheme", `${scheme[1]} is not one of tcp, unix, unix-abstract`)
  }
}

// An address read from `input`, checked, with `input` (as written) in any error.
const checked = (input: string, address: Address): Effect.Effect<Address, InvalidAddress> =>
  fromProblem(problem(address, "remote", () => input), address)

const parseUnix = (input: string, rest: string): Effect.Effect<Address, InvalidAddress> => {
  if (!rest.startsWith("//")) return checked(input, unix(rest))
  const slash = rest.indexOf("/", 2)
  const authority = slash === -1 ? rest.slice(2) : rest.slice(2, slash)
  if (authority !== "" && authority.toLowerCase() !== "localhost") {
    return invalid(
      input,
      "host",
      `${authority} is not this machine: a unix socket URL takes an empty host or localhost (unix:///run/app.sock)`
    )
  }
  return checked(input, unix(slash === -1 ? "" : rest.slice(slash)))
}

const parseTcp = (input: string, rest: string): Effect.Effect<Address, InvalidAddress> => {
  if (!rest.startsWith("//")) return invalid(input, "scheme", "tcp must be followed by //")
  const authority = rest.slice(2).replace(/\/$/, "")
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(authority)
  const colon = authority.lastIndexOf(":")
  const [host, portText] = bracketed !== null
    ? [bracketed[1]!, bracketed[2]]
    : colon === -1
    ? [authority, undefined]
    : [authority.slice(0, colon), authority.slice(colon + 1)]
  // A [ the caller wrote: say what is wrong with it, not that brackets are needed.
  if (bracketed === null && authority.startsWith("[")) {
    return authority.includes("]")
      ? invalid(input, "host", "has text after the ] of an IPv6 address: a port follows it as [::1]:80")
      : invalid(input, "host", "has a [ that is never closed: write the IPv6 address as [::1]:80")
  }
  if (bracketed === null && host.includes(":")) {
    return invalid(input, "host", "an IPv6 address must be in brackets: tcp://[::1]:80")
  }
  if (bracketed !== null && !ip.isIPv6(ip.splitZone(host).bare)) {
    return invalid(input, "host", `is not a valid IPv6 address: ${host}`)
  }
  if (portText === undefined || portText === "") return invalid(input, "port", "is missing")
  if (!/^\d+$/.test(portText)) return invalid(input, "port", `is not a number: ${portText}`)
  return checked(input, tcp(host, Number(portText)))
}
