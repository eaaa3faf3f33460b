// The address checks as plain functions: the problem, or undefined. Address.validate* wrap them
// in effects; Connector.connect calls them directly, since it runs on every connect. `input`
// (the address as the user wrote it, for the error) is only formatted when there is a problem.
import type { Address } from "../Address.js"
import { InvalidAddress } from "../ConnectError.js"
import * as ip from "./ip.js"
import * as name from "./name.js"
import { shown } from "./options.js"

export type PortRule = "remote" | "local"

type Input = () => string

const problem = (input: Input, field: InvalidAddress["field"], reason: string) =>
  new InvalidAddress({ input: input(), field, reason })

export const portProblem = (input: Input, port: number, rule: PortRule): InvalidAddress | undefined => {
  const min = rule === "remote" ? 1 : 0
  return !Number.isInteger(port) || port < min || port > 65535
    ? problem(input, "port", `must be a whole number from ${min} to 65535, got ${shown(port)}`)
    : undefined
}

// Why a host that is neither an IP literal nor a host name is not one, in the terms of what
// the user probably meant.
const hostReason = (host: string): string => {
  const { bare, zone } = ip.splitZone(host)
  if (zone !== undefined && ip.isIPv6(bare)) {
    return `has an invalid zone: ${zone} (an interface name of at most 15 characters without % / : [ ], or an index from 1)`
  }
  if (host.includes(":")) return `is not a valid IPv6 address: ${host}`
  const aton = ip.inetAton(host)
  if (aton !== undefined) return `is not a dotted quad: ${host} would be read as ${aton} by inet_aton`
  if (/^[\d.]+$/.test(host)) return `is not a valid IPv4 address: ${host}`
  if (ip.endsInNumber(host)) return `is not a valid host name: ${host} (its last label is a number)`
  return `is not a valid host name: ${host}`
}

export const hostProblem = (input: Input, host: string): InvalidAddress | undefined => {
  if (typeof host !== "string") return problem(input, "host", `must be a string, got ${typeof host}`)
  if (host.length === 0) return problem(input, "host", "is empty")
  if (host.includes("\0")) return problem(input, "host", "contains a NUL byte")
  if (ip.ipVersion(host) !== undefined || ip.isHostName(host)) return undefined
  return problem(input, "host", hostReason(host))
}

// Why a unix name has no bytes for the kernel, or undefined.
const nameProblem = (input: Input, field: "path" | "name", text: string): InvalidAddress | undefined => {
  if (typeof text !== "string") return problem(input, field, `must be a string, got ${typeof text}`)
  if (text.length === 0) return problem(input, field, "is empty")
  const unencodable = name.problem(text)
  return unencodable === undefined ? undefined : problem(input, field, unencodable.reason)
}

const families: ReadonlySet<unknown> = new Set(["Tcp", "UnixPath", "Abstract", "Unspecified"])

// A value that is no Address at all (from an untyped caller): said, never read further (its
// format would throw).
const familyProblem = (address: unknown): InvalidAddress | undefined => {
  if (typeof address !== "object" || address === null) {
    return new InvalidAddress({
      input: shown(address),
      field: "family",
      reason: `must be an Address (Address.tcp, Address.unix, Address.abstract, Address.parse), got ${shown(address)}`
    })
  }
  const tag: unknown = (address as { readonly _tag?: unknown })._tag
  return families.has(tag) ? undefined : new InvalidAddress({
    input: shown(address),
    field: "family",
    reason: `must be an Address (Address.tcp, Address.unix, Address.abstract, Address.parse), got an object whose _tag is ${shown(tag)}`
  })
}

export const addressProblem = (input: Input, address: Address, rule: PortRule): InvalidAddress | undefined => {
  const notAnAddress = familyProblem(address)
  if (notAnAddress !== undefined) return notAnAddress
  switch (address._tag) {
    case "Tcp":
      return hostProblem(input, address.host) ?? portProblem(input, address.port, rule)
    case "UnixPath":
      return nameProblem(input, "path", address.path) ??
        (address.path.includes("\0")
          ? problem(input, "path", "contains a NUL byte")
          : !address.path.startsWith("/")
          ? problem(input, "path", "is relative: a unix socket path must be absolute (the working directory is not part of an address)")
          : undefined)
    case "Abstract":
      return nameProblem(input, "name", address.name)
    case "Unspecified":
      return undefined
  }
}
