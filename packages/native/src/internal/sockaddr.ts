// Address (core) <-> SockAddr (the binding's view of a struct sockaddr).
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect } from "effect"
import { networkInterfaces } from "node:os"
import { binding, type SockAddr } from "./binding.js"

const { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC, SUN_PATH_MAX } = binding.constants

// A zone is an interface index (`%2`) or name (`%eth0`); the kernel wants the index.
const scopeIdOf = (zone: string): number | undefined => {
  if (/^\d+$/.test(zone)) return Number(zone)
  return networkInterfaces()[zone]?.find((i) => i.family === "IPv6")?.scopeid
}

// Linux takes a path that fills sun_path without a terminator; other platforms need room for it.
const maxPathBytes = Errno.currentPlatform === "linux" ? SUN_PATH_MAX : SUN_PATH_MAX - 1

/**
 * The sockaddr for an address that needs no resolving, or why there is none. A unix path longer
 * than `maxPathBytes` is `NameTooLong` with sun_path's size as the limit, before any syscall.
 */
export const sockAddr = (
  address: Address.Tcp | Address.Unix | Address.Unspecified,
  syscall: ConnectError.Syscall = "connect"
): SockAddr | ConnectError.InvalidAddress | ConnectError.NameTooLong => {
  const input = Address.format(address)
  switch (address._tag) {
    case "Tcp": {
      const version = Address.ipVersion(address)
      if (version === 4) return { family: AF_INET, address: address.host, port: address.port }
      if (version === undefined) {
        return new ConnectError.InvalidAddress({ input, field: "host", reason: "is a name: resolve it first" })
      }
      const [host, zone] = address.host.split("%") as [string, string | undefined]
      const scopeId = zone === undefined ? 0 : scopeIdOf(zone)
      return scopeId === undefined
        ? new ConnectError.InvalidAddress({ input, field: "host", reason: `has an unknown zone: ${zone}` })
        : { family: AF_INET6, address: host, port: address.port, scopeId }
    }
    case "UnixPath": {
      const bytes = Buffer.from(address.path, "utf8")
      if (bytes.length > maxPathBytes) {
        return ConnectError.nameTooLong(input, SUN_PATH_MAX, syscall, Errno.currentPlatform)
      }
      return { family: AF_UNIX, address: bytes, port: 0 }
    }
    case "Abstract":
      return { family: AF_UNIX, address: Buffer.concat([Buffer.of(0), Buffer.from(address.name, "utf8")]), port: 0 }
    case "Unspecified":
      return { family: AF_UNSPEC, address: "", port: 0 }
  }
}

/** `sockAddr` as an effect. */
export const toSockAddr = (
  address: Address.Tcp | Address.Unix | Address.Unspecified,
  syscall: ConnectError.Syscall = "connect"
): Effect.Effect<SockAddr, ConnectError.InvalidAddress | ConnectError.NameTooLong> => {
  const sa = sockAddr(address, syscall)
  return "_tag" in sa ? Effect.fail(sa) : Effect.succeed(sa)
}

/** The address a sockaddr from getsockname/getpeername/recvfrom stands for. */
export const fromSockAddr = (sa: SockAddr): Address.Tcp | Address.Unix | Address.Unspecified => {
  if (sa.family === AF_INET) return Address.tcp(sa.address as string, sa.port)
  if (sa.family === AF_INET6) {
    return Address.tcp(sa.scopeId ? `${sa.address as string}%${sa.scopeId}` : (sa.address as string), sa.port)
  }
  if (sa.family === AF_UNIX) {
    const bytes = Buffer.from(sa.address as Uint8Array)
    return bytes[0] === 0 && bytes.length > 0
      ? Address.abstract(bytes.subarray(1).toString("utf8"))
      : Address.unix(bytes.toString("utf8"))
  }
  return Address.unspecified
}

/** The socket(2) domain for an address. */
export const domainOf = (address: Address.Tcp | Address.Unix): number =>
  address._tag === "Tcp" ? (Address.ipVersion(address) === 6 ? AF_INET6 : AF_INET) : AF_UNIX
