/**
 * Where to connect: a TCP host and port, an AF_UNIX path or abstract name, or the unspecified
 * address that dissolves a datagram association. Constructors are total; `validate` and `parse`
 * say what is wrong with bad input, field by field, before any syscall.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import { InvalidAddress } from "./ConnectError.js"
import * as check from "./internal/check.js"
import * as ip from "./internal/ip.js"

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
 * @since 0.1.0
 * @category models
 */
export type Unix = UnixPath | Abstract

/**
 * @since 0.1.0
 * @category models
 */
export type Address = Tcp | UnixPath | Abstract | Unspecified

/**
 * @since 0.1.0
 * @category constructors
 */
export const tcp = (host: string, port: number): Tcp => Data.struct({ _tag: "Tcp", host, port })

/**
 * @since 0.1.0
 * @category constructors
 */
export const unix = (path: string): UnixPath => Data.struct({ _tag: "UnixPath", path })

/**
 * @since 0.1.0
 * @category constructors
 */
export const abstract = (name: string): Abstract => Data.struct({ _tag: "Abstract", name })

/**
 * @since 0.1.0
 * @category constructors
 */
export const unspecified: Unspecified = Data.struct({ _tag: "Unspecified" })

/**
 * 4 or 6 for an IP literal host, `undefined` for a name that needs resolving.
 *
 * @since 0.1.0
 * @category getters
 */
export const ipVersion = (address: Tcp): 4 | 6 | undefined => ip.ipVersion(address.host)

/**
 * The URL form `parse` reads back: `tcp://127.0.0.1:80`, `tcp://[::1]:80`, `unix:///run/app.sock`,
 * `unix-abstract:name`, `unspecified:`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (address: Address): string => {
  switch (address._tag) {
    case "Tcp":
      return `tcp://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`
    case "UnixPath":
      return `unix://${address.path}`
    case "Abstract":
      return `unix-abstract:${address.name}`
    case "Unspecified":
      return "unspecified:"
  }
}

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
 * Checks a host: an IPv4 literal, an IPv6 literal (with an optional zone), or a host name.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateHost = (input: string, host: string): Effect.Effect<string, InvalidAddress> =>
  Effect.suspend(() => fromProblem(check.hostProblem(() => input, host), host))

/**
 * Checks an address before any syscall. Path length is left to the platform layer, which knows
 * its sun_path size and reports `NameTooLong` with the limit.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <A extends Address>(address: A, rule: PortRule = "remote"): Effect.Effect<A, InvalidAddress> =>
  Effect.suspend(() => fromProblem(check.addressProblem(() => format(address), address, rule), address))

/**
 * Reads the URL form: `tcp://host:port`, `tcp://[v6]:port`, `unix:///path`, `unix-abstract:name`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Effect.Effect<Address, InvalidAddress> => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input)
  if (scheme === null) return invalid(input, "scheme", "is missing: expected tcp://, unix:// or unix-abstract:")
  const rest = input.slice(scheme[0].length)
  switch (scheme[1]!.toLowerCase()) {
    case "tcp":
      return parseTcp(input, rest)
    case "unix":
      return validate(unix(rest.startsWith("//") ? rest.slice(2) : rest))
    case "unix-abstract":
      return validate(abstract(rest))
    case "unspecified":
      return rest === "" ? Effect.succeed(unspecified) : invalid(input, "scheme", "unspecified: takes no address")
    default:
      return invalid(input, "scheme", `${scheme[1]} is not one of tcp, unix, unix-abstract`)
  }
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
  if (bracketed === null && host.includes(":")) {
    return invalid(input, "host", "an IPv6 address must be in brackets: tcp://[::1]:80")
  }
  if (bracketed !== null && ip.ipVersion(host) !== 6) {
    return invalid(input, "host", `is not a valid IPv6 address: ${host}`)
  }
  if (portText === undefined || portText === "") return invalid(input, "port", "is missing")
  if (!/^\d+$/.test(portText)) return invalid(input, "port", `is not a number: ${portText}`)
  return validate(tcp(host, Number(portText))).pipe(
    Effect.mapError((e) => new InvalidAddress({ input, field: e.field, reason: e.reason }))
  )
}
