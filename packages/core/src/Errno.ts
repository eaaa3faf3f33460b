/**
 * The errno table: every errno that connect(2), and the socket(2) / bind(2) calls around it, can
 * return, as data. Error classes, unions, messages and number lookups are all derived from this
 * one table; nothing else in the project spells an errno number.
 *
 * @since 0.1.0
 */
import { argument } from "./internal/options.js"

/**
 * The platforms whose errno numbers the table knows.
 *
 * @since 0.1.0
 * @category models
 */
export type Platform = "linux" | "darwin" | "freebsd"

/**
 * Where an errno can come from: a stream connect over IP (`inet`), a stream connect to an AF_UNIX
 * path or abstract name (`unix`), or a datagram socket's association and its sends (`datagram`).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = "inet" | "unix" | "datagram"

/**
 * The address families a hint can be about: IP (stream and datagram), AF_UNIX paths, and Linux's
 * abstract AF_UNIX names (stream and datagram). The same errno has different causes in each: an
 * abstract name has no file, so nothing about files, stale sockets or permissions applies to it.
 *
 * @since 0.1.0
 * @category models
 */
export type Family = "ip" | "unix" | "abstract"

/**
 * A hint per family: each names only that family's causes. An abstract name without its own hint
 * takes the AF_UNIX one.
 *
 * @since 0.1.0
 * @category models
 */
export type Hints = { readonly [F in Family]?: string }

/**
 * One row of the table.
 *
 * - `raw`: a state or argument error that the safe `Connector` API cannot produce (it owns the
 *   socket from creation to close); it surfaces only from the raw native API.
 * - `pathCause`: a unix socket's path can be the cause; `@effect-connect/unix` walks the path
 *   after these, and what the walk finds (see `pathProblems`), when it explains the errno,
 *   decides whether the error is transient; otherwise the row's `transient` does.
 * - `hint`: what to look at, per family: a TCP refusal has nothing to do with stale socket files.
 *
 * @since 0.1.0
 * @category models
 */
export interface Row {
  readonly tag: string
  readonly linux: number
  readonly darwin: number
  readonly freebsd: number
  readonly meaning: string
  readonly hint?: Hints
  readonly transient: boolean
  readonly kinds: ReadonlyArray<Kind>
  readonly raw?: true
  readonly pathCause?: true
  /** Where one errno has several causes that a caller can tell apart: a hint for each. */
  readonly reasons?: Readonly<Record<string, string>>
}

const all = ["inet", "unix", "datagram"] as const
const ip = ["inet", "datagram"] as const
const path = ["unix", "datagram"] as const
const both = (hint: string): Hints => ({ ip: hint, unix: hint })

/**
 * The table. Numbers are from Linux's asm-generic/errno*.h and the BSDs' sys/errno.h. Darwin and
 * FreeBSD agree on every row but two: EOPNOTSUPP (Darwin 102, FreeBSD 45, which is Darwin's
 * ENOTSUP) and EPROTO (Darwin 100, FreeBSD 92).
 *
 * @since 0.1.0
 * @category table
 */
export const table = {
  // The seed manual page's errnos, in its order.
  EBADF: {
    tag: "BadDescriptor", linux: 9, darwin: 9, freebsd: 9, transient: false, kinds: all, raw: true,
    meaning: "the descriptor is not a valid open file descriptor"
  },
  ENOTSOCK: {
    tag: "NotASocket", linux: 88, darwin: 38, freebsd: 38, transient: false, kinds: all, raw: true,
    meaning: "the descriptor refers to a file, not a socket"
  },
  EADDRNOTAVAIL: {
    tag: "AddressNotAvailable", linux: 99, darwin: 49, freebsd: 49, transient: true, kinds: ip,
    meaning: "the local address is not available on this machine",
    hint: {
      ip: "on Linux a connect gets this when the ephemeral ports are exhausted (see net.ipv4.ip_local_port_range), " +
        "or when no local address of the destination's family can send to it (IPv6 disabled: " +
        "net.ipv6.conf.all.disable_ipv6); when you chose the local address, check that it is assigned to an interface"
    }
  },
  EAFNOSUPPORT: {
    tag: "AddressFamilyNotSupported", linux: 97, darwin: 47, freebsd: 47, transient: false, kinds: all,
    meaning: "addresses of this family cannot be used with this socket",
    hint: { ip: "an IPv6 address on a host without IPv6, or an address of another family than the socket's" }
  },
  EISCONN: {
    tag: "AlreadyConnected", linux: 106, darwin: 56, freebsd: 56, transient: false, kinds: all, raw: true,
    meaning: "the socket is already connected"
  },
  ETIMEDOUT: {
    tag: "TimedOut", linux: 110, darwin: 60, freebsd: 60, transient: true, kinds: all,
    meaning: "the connection was not established in time",
    hint: { ip: "the peer did not answer: a firewall dropping packets, a listener whose backlog is full, or a host that is down" }
  },
  ECONNREFUSED: {
    tag: "ConnectionRefused", linux: 111, darwin: 61, freebsd: 61, transient: true, kinds: all, pathCause: true,
    meaning: "the peer refused the connection",
    hint: {
      ip: "nothing is listening on that port",
      unix: "the socket file exists but nothing listens on it: a stale socket, left behind by a server that is gone",
      // An abstract name goes when its socket closes: nothing stale can be left behind.
      abstract: "no socket is bound to this abstract name: its server has not started, or has exited"
    }
  },
  ECONNRESET: {
    tag: "ConnectionReset", linux: 104, darwin: 54, freebsd: 54, transient: true, kinds: ip,
    meaning: "the peer reset the connection while it was being established"
  },
  ENETUNREACH: {
    tag: "NetworkUnreachable", linux: 101, darwin: 51, freebsd: 51, transient: true, kinds: ip,
    meaning: "no route to the destination's network",
    hint: {
      ip: "check the routing table and that the interface is up (a link set down takes its routes with it); " +
        "a router or firewall can also reject with ICMP net-unreachable or net-prohibited"
    }
  },
  EHOSTUNREACH: {
    tag: "HostUnreachable", linux: 113, darwin: 65, freebsd: 65, transient: true, kinds: ip,
    meaning: "the destination host cannot be reached",
    hint: {
      ip: "the route says unreachable, the host did not answer ARP/neighbour discovery, or a router or firewall " +
        "rejected it with ICMP host-unreachable, host-prohibited or admin-prohibited"
    }
  },
  EADDRINUSE: {
    tag: "AddressInUse", linux: 98, darwin: 48, freebsd: 48, transient: true, kinds: all,
    meaning: "the local address is already in use",
    hint: {
      ip: "permanent when you chose the local port; otherwise no ephemeral port was free (see net.ipv4.ip_local_port_range)",
      unix: "a socket file already exists at the local name",
      abstract: "another socket is bound to this abstract name"
    }
  },
  EFAULT: {
    tag: "BadAddress", linux: 14, darwin: 14, freebsd: 14, transient: false, kinds: all, raw: true,
    meaning: "the address argument points outside the process's address space"
  },
  EINPROGRESS: {
    tag: "InProgress", linux: 115, darwin: 36, freebsd: 36, transient: false, kinds: all, raw: true,
    meaning: "the non-blocking connect has started and has not completed yet"
  },
  EINTR: {
    tag: "Interrupted", linux: 4, darwin: 4, freebsd: 4, transient: false, kinds: all, raw: true,
    meaning: "a signal interrupted the call; the connect goes on in the background"
  },
  EALREADY: {
    tag: "AlreadyInProgress", linux: 114, darwin: 37, freebsd: 37, transient: false, kinds: all, raw: true,
    meaning: "a previous connect on this socket has not completed yet"
  },
  EACCES: {
    tag: "PermissionDenied", linux: 13, darwin: 13, freebsd: 13, transient: false, kinds: all, pathCause: true,
    meaning: "permission denied",
    hint: {
      ip: "a route of type prohibit, a firewall rule or a security module rejected it, or a broadcast address " +
        "was used without SO_BROADCAST",
      unix: "a unix socket needs search permission on every directory of its path and write permission on the socket file",
      abstract: "an abstract name has no file permissions: a security module (SELinux, AppArmor) denied it"
    },
    // The manual page's causes, each with its own hint; `PermissionDenied.reason` is one of these
    // (or "unknown", when the caller could not tell).
    reasons: {
      broadcast: "a broadcast address needs SO_BROADCAST on the socket",
      prohibited: "a route of type prohibit or unreachable-by-policy, or a firewall rule, forbids this destination",
      "search-prefix": "a unix socket needs search (x) permission on every directory of its path",
      "socket-write": "a unix socket needs write permission on the socket file"
    }
  },
  EAGAIN: {
    tag: "TryAgain", linux: 11, darwin: 35, freebsd: 35, transient: true, kinds: all,
    meaning: "the call cannot complete now",
    hint: { ip: "no ephemeral port is free", unix: "on Linux: the listener's backlog is full" }
  },
  ENOTDIR: {
    tag: "NotADirectory", linux: 20, darwin: 20, freebsd: 20, transient: false, kinds: path, pathCause: true,
    meaning: "a component of the path prefix is not a directory"
  },
  ENAMETOOLONG: {
    tag: "NameTooLong", linux: 36, darwin: 63, freebsd: 63, transient: false, kinds: path,
    meaning: "the socket path is longer than the platform allows"
  },
  ENOENT: {
    tag: "NotFound", linux: 2, darwin: 2, freebsd: 2, transient: true, kinds: path, pathCause: true,
    meaning: "the socket file does not exist",
    hint: { unix: "the server has not created it yet, or a directory on the path is missing" }
  },
  ELOOP: {
    tag: "SymlinkLoop", linux: 40, darwin: 62, freebsd: 62, transient: false, kinds: path, pathCause: true,
    meaning: "too many symbolic links were met while resolving the path"
  },
  // What Linux adds for connect, socket and bind, and what a datagram association reports.
  EPERM: {
    tag: "OperationNotPermitted", linux: 1, darwin: 1, freebsd: 1, transient: false, kinds: all,
    meaning: "the operation is not permitted",
    hint: {
      ip: "a firewall rule or a security module (seccomp, SELinux, AppArmor, a BPF hook) rejected it",
      // A unix datagram socket connected to a peer takes datagrams from that peer only: a connect
      // or a send to it from any other socket is EPERM (Linux's unix_may_send).
      unix: "a datagram socket that is connected to another peer takes datagrams from that peer only; " +
        "otherwise a security module (seccomp, SELinux, AppArmor, a BPF hook) rejected it"
    }
  },
  EPROTOTYPE: {
    tag: "WrongProtocolType", linux: 91, darwin: 41, freebsd: 41, transient: false, kinds: path,
    meaning: "the socket type does not match the peer's",
    hint: { unix: "a stream socket connecting to a datagram socket's path, or the other way round" }
  },
  EINVAL: {
    tag: "InvalidArgument", linux: 22, darwin: 22, freebsd: 22, transient: false, kinds: all,
    meaning: "an argument is invalid for this socket",
    // Linux's connect answers a `blackhole` route with EINVAL, which reads as our own mistake.
    hint: { ip: "on Linux, a route of type blackhole to the destination (ip route get <address>) discards it" }
  },
  EMFILE: {
    tag: "TooManyOpenFiles", linux: 24, darwin: 24, freebsd: 24, transient: true, kinds: all,
    meaning: "the process has reached its limit of open file descriptors",
    hint: both("see ulimit -n (RLIMIT_NOFILE), and look for leaked sockets")
  },
  ENFILE: {
    tag: "TooManyOpenFiles", linux: 23, darwin: 23, freebsd: 23, transient: true, kinds: all,
    meaning: "the system has reached its limit of open files",
    hint: both("see fs.file-max")
  },
  ENOBUFS: {
    tag: "OutOfResources", linux: 105, darwin: 55, freebsd: 55, transient: true, kinds: all,
    meaning: "the kernel has no buffer space for the socket"
  },
  ENOMEM: {
    tag: "OutOfResources", linux: 12, darwin: 12, freebsd: 12, transient: true, kinds: all,
    meaning: "the kernel is out of memory"
  },
  EPROTONOSUPPORT: {
    tag: "ProtocolNotSupported", linux: 93, darwin: 43, freebsd: 43, transient: false, kinds: all,
    meaning: "the protocol is not supported for this family and socket type"
  },
  ENOTCONN: {
    tag: "NotConnected", linux: 107, darwin: 57, freebsd: 57, transient: false, kinds: ["datagram"],
    meaning: "the socket has no peer",
    hint: both("the datagram association was dissolved, or never made")
  },
  EDESTADDRREQ: {
    tag: "DestinationRequired", linux: 89, darwin: 39, freebsd: 39, transient: false, kinds: ["datagram"],
    meaning: "a send needs a destination and the socket has no peer",
    hint: both("the datagram association was dissolved; connect again to associate")
  },
  // What ICMP rejects, down interfaces and the BSDs' stacks add (Linux's icmp_err_convert, the
  // BSDs' in_pcb and arp code).
  ENOPROTOOPT: {
    tag: "ProtocolNotAvailable", linux: 92, darwin: 42, freebsd: 42, transient: false, kinds: all,
    meaning: "the protocol is not available",
    hint: {
      ip: "on a connect, an ICMP protocol-unreachable reject: a firewall rule (REJECT --reject-with " +
        "icmp-proto-unreachable) or a peer without this protocol; on setsockopt, an option this socket lacks",
      unix: "from setsockopt: an option this socket does not have"
    }
  },
  ENETDOWN: {
    tag: "NetworkDown", linux: 100, darwin: 50, freebsd: 50, transient: true, kinds: ip,
    meaning: "the network is down",
    hint: { ip: "the interface the route uses is down (ip link show)" }
  },
  EHOSTDOWN: {
    tag: "HostDown", linux: 112, darwin: 64, freebsd: 64, transient: true, kinds: ip,
    meaning: "the destination host is down",
    hint: {
      ip: "on Linux, an ICMP host-unknown reject from a router or firewall; on the BSDs, the host did not answer " +
        "ARP/neighbour discovery (where Linux says EHOSTUNREACH)"
    }
  },
  ECONNABORTED: {
    tag: "ConnectionAborted", linux: 103, darwin: 53, freebsd: 53, transient: true, kinds: ip,
    meaning: "the local network stack aborted the connection",
    hint: { ip: "a retransmission timer or a local reset ended the handshake" }
  },
  EOPNOTSUPP: {
    tag: "OperationNotSupported", linux: 95, darwin: 102, freebsd: 45, transient: false, kinds: all,
    meaning: "the operation is not supported on this socket",
    hint: {
      ip: "on a connect, an ICMP source-route-failed reject from a router or firewall; otherwise an option or call " +
        "this protocol does not have",
      unix: "an option or call AF_UNIX does not have (e.g. TCP_NODELAY)"
    }
  },
  EPROTO: {
    tag: "ProtocolError", linux: 71, darwin: 100, freebsd: 92, transient: false, kinds: ip,
    meaning: "a protocol error",
    hint: { ip: "an ICMP parameter-problem reject: a router or the peer found the packet malformed" }
  },
  EMSGSIZE: {
    tag: "MessageTooLong", linux: 90, darwin: 40, freebsd: 40, transient: false, kinds: ["datagram"],
    meaning: "the datagram is larger than the socket or the path allows",
    hint: {
      ip: "send less per datagram: the path MTU may be smaller than the interface's",
      unix: "send less per datagram, or raise the socket's send buffer (SO_SNDBUF)"
    }
  }
} as const satisfies Record<string, Row>

/**
 * The names the table knows.
 *
 * @since 0.1.0
 * @category models
 */
export type Name = keyof typeof table

/**
 * The errnos of the seed manual page, connect(2), in its order.
 *
 * @since 0.1.0
 * @category table
 */
export const seedNames = [
  "EBADF", "ENOTSOCK", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EISCONN", "ETIMEDOUT", "ECONNREFUSED",
  "ECONNRESET", "ENETUNREACH", "EHOSTUNREACH", "EADDRINUSE", "EFAULT", "EINPROGRESS", "EINTR",
  "EALREADY", "EACCES", "EAGAIN", "ENOTDIR", "ENAMETOOLONG", "ENOENT", "ELOOP"
] as const satisfies ReadonlyArray<Name>

/**
 * Every name in the table.
 *
 * @since 0.1.0
 * @category table
 */
export const names = Object.keys(table) as ReadonlyArray<Name>

/**
 * The tag of the error class an errno maps to.
 *
 * @since 0.1.0
 * @category models
 */
export type Tag = (typeof table)[Name]["tag"]

/**
 * The errno names that map to the error class `T`.
 *
 * @since 0.1.0
 * @category models
 */
export type NamesOf<T extends Tag> = { [N in Name]: (typeof table)[N]["tag"] extends T ? N : never }[Name]

/**
 * The tags of the errnos that can occur for kind `K`. Raw-only errnos are left out: the safe API
 * never surfaces them.
 *
 * @since 0.1.0
 * @category models
 */
export type TagsOf<K extends Kind> = {
  [N in Name]: (typeof table)[N] extends { readonly raw: true } ? never
    : K extends (typeof table)[N]["kinds"][number] ? (typeof table)[N]["tag"]
    : never
}[Name]

/**
 * The tags whose errnos are all transient in the table.
 *
 * @since 0.1.0
 * @category models
 */
export type TransientTag = { [N in Name]: (typeof table)[N]["transient"] extends true ? (typeof table)[N]["tag"] : never }[Name]

/**
 * The errno names of a tag, at run time.
 *
 * @since 0.1.0
 * @category table
 */
export const namesOf = <T extends Tag>(tag: T): ReadonlyArray<NamesOf<T>> =>
  names.filter((name) => table[name].tag === tag) as Array<NamesOf<T>>

/**
 * Is this string an errno name the table knows?
 *
 * @since 0.1.0
 * @category guards
 */
export const isName = (name: string): name is Name =>
  typeof name === "string" && Object.prototype.hasOwnProperty.call(table, name)

/**
 * The number of an errno on a platform. Throws an Error naming the argument for a name or
 * platform the table does not know.
 *
 * @since 0.1.0
 * @category lookups
 */
export const codeOf = (name: Name, platform: Platform): number => {
  // An untyped caller's name or platform would read another row field, or undefined, as a number.
  if (!isName(name)) throw argument("Errno.codeOf", "name", "an errno name of the table", name)
  if (!isPlatform(platform)) throw argument("Errno.codeOf", "platform", "linux, darwin or freebsd", platform)
  return table[name][platform]
}

/**
 * Whether `u` is a platform the table has numbers for.
 *
 * @since 0.1.0
 * @category lookups
 */
export const isPlatform = (u: unknown): u is Platform => u === "linux" || u === "darwin" || u === "freebsd"

/**
 * The table's name for an errno number on a platform, if the table has one.
 *
 * @since 0.1.0
 * @category lookups
 */
export const nameOf = (code: number, platform: Platform): Name | undefined =>
  names.find((name) => table[name][platform] === code)

/**
 * The platform this process runs on, for the numbers in errors that core builds itself (our own
 * deadline's ETIMEDOUT). Read from the global `process` without importing `node:process`, so that
 * core stays free of runtime Node imports; anything that is not Darwin or FreeBSD counts as Linux.
 *
 * @since 0.1.0
 * @category lookups
 */
export const currentPlatform: Platform = (() => {
  const platform = (globalThis as { readonly process?: { readonly platform?: string } }).process?.platform
  return platform === "darwin" || platform === "freebsd" ? platform : "linux"
})()


/**
 * The family an error's `address` (an `Address.format` string) belongs to; undefined for an
 * empty address (a socket(2) error before any address was involved), and for anything that is
 * not a string.
 *
 * @since 0.1.0
 * @category lookups
 */
export const familyOf = (address: string): Family | undefined =>
  typeof address !== "string" ? undefined
    : address.startsWith("unix-abstract:") ? "abstract"
    : address.startsWith("unix:") ? "unix"
    : address === "" ? undefined
    : "ip"

/**
 * The hint of a row for a family; with no family, the hints of every family.
 *
 * @since 0.1.0
 * @category lookups
 */
export const hintOf = (row: Row, family: Family | undefined): string | undefined => {
  if (row.hint === undefined) return undefined
  if (family !== undefined) return family === "abstract" ? row.hint.abstract ?? row.hint.unix : row.hint[family]
  const hints = [...new Set([row.hint.ip, row.hint.unix, row.hint.abstract].filter((h) => h !== undefined))]
  return hints.length === 0 ? undefined : hints.join("; ")
}

/**
 * What a walk of a unix socket's path can find wrong, with what it means, whether waiting can
 * mend it, and the errnos it explains: a server creates a missing socket file (and often its
 * directory) when it starts, and replaces a stale one; nothing will turn a regular file or a
 * directory into a socket, grant a permission or undo a symlink loop.
 *
 * `errnos` are what connect(2) returns when the path has that problem, in the kernel's order of
 * checks (Linux's unix_find_bsd: the lookup, each directory's search permission, then write
 * permission on the file, then whether it is a socket, then whether anyone listens): only these
 * errnos can have this problem as their diagnosis (see {@link explains}). A regular file at the
 * path is ECONNREFUSED on Linux (the BSDs say ENOTSOCK, which is not walked).
 *
 * @since 0.1.0
 * @category table
 */
export const pathProblems = {
  "missing-directory": { transient: true, errnos: ["ENOENT"], meaning: "this directory does not exist" },
  "missing-socket": {
    transient: true,
    errnos: ["ENOENT"],
    meaning: "no socket file here: the directory exists, the server has not created it (yet)"
  },
  "not-a-directory": { transient: false, errnos: ["ENOTDIR"], meaning: "this is not a directory" },
  "search-denied": { transient: false, errnos: ["EACCES"], meaning: "no search (x) permission on this directory" },
  "write-denied": { transient: false, errnos: ["EACCES"], meaning: "no write permission on this socket file" },
  "not-a-socket": {
    transient: false,
    errnos: ["ECONNREFUSED"],
    meaning: "a regular file or a directory, not a socket: no server can listen here until it is removed"
  },
  "stale-socket": { transient: true, errnos: ["ECONNREFUSED"], meaning: "a socket file nothing listens on (a server left it behind)" },
  "symlink-loop": { transient: false, errnos: ["ELOOP"], meaning: "symbolic links loop here" }
} as const satisfies Record<
  string,
  { readonly transient: boolean; readonly errnos: ReadonlyArray<Name>; readonly meaning: string }
>

/**
 * Whether a path problem explains an errno: the connect would have failed with that errno had
 * the path had that problem (`pathProblems[problem].errnos`). A walk that finds a problem that
 * does not explain the connect's errno saw another path than the connect did (it changed in
 * between): it says nothing about why the connect failed.
 *
 * @since 0.2.0
 * @category lookups
 */
export const explains = (errno: string, problem: string): boolean =>
  Object.prototype.hasOwnProperty.call(pathProblems, problem) &&
  (pathProblems[problem as keyof typeof pathProblems].errnos as ReadonlyArray<string>).includes(errno)
