// Address (core) <-> SockAddr (the binding's view of a struct sockaddr).
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect } from "effect"
import { networkInterfaces } from "node:os"
import { type Binding, load, type SockAddr } from "./binding.js"

// The families' numbers differ by platform: the addon's own. Only code that holds the loaded
// addon builds or reads a sockaddr, so this never meets a load error.
const constants = () => (load() as Binding).constants

/**
 * `sizeof(sockaddr_un.sun_path)`: 108 on Linux, 104 on macOS and FreeBSD (the addon's
 * `SUN_PATH_MAX`, known without it: a test holds the two equal).
 */
export const sunPathMax = Errno.currentPlatform === "linux" ? 108 : 104

// A zone is an interface index (`%2`) or name (`%eth0`); the kernel wants the index. The name is
// looked up as an own property: `__proto__` or `toString` is an unknown zone, not a prototype's.
const scopeIdOf = (zone: string): number | undefined => {
  if (/^\d+$/.test(zone)) return Number(zone)
  const interfaces = networkInterfaces()
  return Object.hasOwn(interfaces, zone) ? interfaces[zone]?.find((i) => i.family === "IPv6")?.scopeid : undefined
}

/** The longest unix path connect(2) and bind(2) take: Linux takes one that fills sun_path, unterminated. */
export const maxPathBytes = Errno.currentPlatform === "linux" ? sunPathMax : sunPathMax - 1

// Why a unix name has no exact bytes: core's check has a problem with exactly the names that
// Address.encodeName gives no bytes for (a property test holds it to that).
const unencodable = (address: Address.Unix) => Address.problem(address, "remote") as ConnectError.InvalidAddress

/**
 * The sockaddr for an address that needs no resolving, or why there is none, for an address
 * core's checks passed (`toSockAddr` checks one that comes from elsewhere). A unix name is
 * encoded exactly (`Address.encodeName`) or not at all. A unix path longer than `maxPathBytes` is
 * `NameTooLong` with sun_path's size as the limit, before any syscall.
 */
export const sockAddr = (
  address: Address.Tcp | Address.Unix | Address.Unspecified,
  syscall: ConnectError.Syscall = "connect"
): SockAddr | ConnectError.InvalidAddress | ConnectError.NameTooLong => {
  // The address's text is only for an error: a connect that goes through never builds it.
  const { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC } = constants()
  switch (address._tag) {
    case "Tcp": {
      const version = Address.ipVersion(address)
      if (version === 4) return { family: AF_INET, address: address.host, port: address.port }
      if (version === undefined) {
        return new ConnectError.InvalidAddress({ input: Address.format(address), field: "host", reason: "is a name: resolve it first" })
      }
      const [host, zone] = address.host.split("%") as [string, string | undefined]
      const scopeId = zone === undefined ? 0 : scopeIdOf(zone)
      return scopeId === undefined
        ? new ConnectError.InvalidAddress({ input: Address.format(address), field: "host", reason: `has an unknown zone: ${zone}` })
        : { family: AF_INET6, address: host, port: address.port, scopeId }
    }
    case "UnixPath": {
      const bytes = Address.encodeName(address.path)
      if (bytes === undefined) return unencodable(address)
      if (bytes.length > maxPathBytes) {
        return ConnectError.nameTooLong(Address.format(address), sunPathMax, syscall, Errno.currentPlatform)
      }
      return { family: AF_UNIX, address: bytes, port: 0 }
    }
    case "Abstract": {
      const bytes = Address.encodeName(address.name)
      if (bytes === undefined) return unencodable(address)
      const withNul = new Uint8Array(bytes.length + 1)
      withNul.set(bytes, 1)
      return { family: AF_UNIX, address: withNul, port: 0 }
    }
    case "Unspecified":
      return { family: AF_UNSPEC, address: "", port: 0 }
  }
}

/**
 * `sockAddr` as an effect, for the raw API and datagram sockets, which take addresses that no
 * connect checked: `Address.problem` first (a bind may ask for port 0).
 */
export const toSockAddr = (
  address: Address.Tcp | Address.Unix | Address.Unspecified,
  syscall: ConnectError.Syscall = "connect"
): Effect.Effect<SockAddr, ConnectError.InvalidAddress | ConnectError.NameTooLong> => {
  const problem = Address.problem(address, syscall === "bind" ? "local" : "remote")
  if (problem !== undefined) return Effect.fail(problem)
  const sa = sockAddr(address, syscall)
  return "_tag" in sa ? Effect.fail(sa) : Effect.succeed(sa)
}

/** The address a sockaddr from getsockname/getpeername/recvfrom stands for. */
export const fromSockAddr = (sa: SockAddr): Address.Tcp | Address.Unix | Address.Unspecified => {
  const { AF_INET, AF_INET6, AF_UNIX } = constants()
  if (sa.family === AF_INET) return Address.tcp(sa.address as string, sa.port)
  if (sa.family === AF_INET6) {
    return Address.tcp(sa.scopeId ? `${sa.address as string}%${sa.scopeId}` : (sa.address as string), sa.port)
  }
  if (sa.family === AF_UNIX) {
    // Decoded losslessly: bytes that are not UTF-8 are kept as U+DC80..U+DCFF (Address.decodeName),
    // so two names the kernel tells apart stay apart, and a reply goes back to the same name.
    const bytes = sa.address as Uint8Array
    return bytes[0] === 0 && bytes.length > 0
      ? Address.abstract(Address.decodeName(bytes.subarray(1)))
      : Address.unix(Address.decodeName(bytes))
  }
  return Address.unspecified
}
