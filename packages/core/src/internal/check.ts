// The address checks as plain functions: the problem, or undefined. Address.validate* wrap them
// in effects; Connector.connect calls them directly, since it runs on every connect. `input`
// (the address as the user wrote it, for the error) is only formatted when there is a problem.
import type { Address } from "../Address.js"
import { InvalidAddress } from "../ConnectError.js"
import * as ip from "./ip.js"

export type PortRule = "remote" | "local"

type Input = () => string

const problem = (input: Input, field: InvalidAddress["field"], reason: string) =>
  new InvalidAddress({ input: input(), field, reason })

export const portProblem = (input: Input, port: number, rule: PortRule): InvalidAddress | undefined => {
  const min = rule === "remote" ? 1 : 0
  return !Number.isInteger(port) || port < min || port > 65535
    ? problem(input, "port", `must be a whole number from ${min} to 65535, got ${port}`)
    : undefined
}

export const hostProblem = (input: Input, host: string): InvalidAddress | undefined => {
  if (host.length === 0) return problem(input, "host", "is empty")
  if (host.includes("\0")) return problem(input, "host", "contains a NUL byte")
  if (ip.ipVersion(host) !== undefined || ip.isHostName(host)) return undefined
  if (host.includes(":")) return problem(input, "host", `is not a valid IPv6 address: ${host}`)
  if (/^[\d.]+$/.test(host)) return problem(input, "host", `is not a valid IPv4 address: ${host}`)
  return problem(input, "host", `is not a valid host name: ${host}`)
}

export const addressProblem = (input: Input, address: Address, rule: PortRule): InvalidAddress | undefined => {
  switch (address._tag) {
    case "Tcp":
      return hostProblem(input, address.host) ?? portProblem(input, address.port, rule)
    case "UnixPath":
      return address.path.length === 0
        ? problem(input, "path", "is empty")
        : address.path.includes("\0")
        ? problem(input, "path", "contains a NUL byte")
        : undefined
    case "Abstract":
      return address.name.length === 0 ? problem(input, "name", "is empty") : undefined
    case "Unspecified":
      return undefined
  }
}
