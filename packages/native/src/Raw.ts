/**
 * The raw API: one syscall per function on an fd the caller manages, every errno as its tagged
 * error (kind `raw`: the state errors EISCONN, EALREADY, EINPROGRESS, EBADF, ENOTSOCK, EFAULT
 * included). For tests and for callers who need the state machine itself; services should use
 * `Connector`. A descriptor no syscall can take (not a 32-bit whole number) is `InvalidOption`
 * (option `fd`) before any call; a family or type it does not know, `InvalidOption` too. Where
 * the addon cannot be loaded (see `Addon`), every call but `openDirectory` (node:fs) is
 * `Unsupported`, naming the function and the load error; the constants need no addon.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect, type Scope } from "effect"
import { closeSync, constants, openSync } from "node:fs"
import { withAddon } from "./internal/addon.js"
import type { Binding } from "./internal/binding.js"
import * as fd from "./internal/fd.js"
import * as sockaddr from "./internal/sockaddr.js"

/**
 * The address family `socket` opens: AF_INET, AF_INET6 or AF_UNIX.
 *
 * @since 0.1.0
 * @category models
 */
export type Family = "inet" | "inet6" | "unix"

/**
 * The socket type `socket` opens: SOCK_STREAM or SOCK_DGRAM.
 *
 * @since 0.1.0
 * @category models
 */
export type Type = "stream" | "datagram"

/**
 * `sizeof(sockaddr_un.sun_path)` here: 108 on Linux, 104 on macOS and FreeBSD. The limit a
 * `NameTooLong` reports.
 *
 * @since 0.1.0
 * @category constants
 */
export const sunPathMax: number = sockaddr.sunPathMax

/**
 * The longest unix path, in UTF-8 bytes, that connect(2) and bind(2) take here: all of sun_path
 * on Linux, which accepts a full path without its terminator (and getsockname(2) gives it back
 * exactly); one byte less elsewhere, for the terminator.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPathBytes: number = sockaddr.maxPathBytes
const EALREADY = Errno.codeOf("EALREADY", Errno.currentPlatform)
const EINVAL = Errno.codeOf("EINVAL", Errno.currentPlatform)
const context = (address: string): fd.Context<"raw"> => ({ kind: "raw", address, platform: Errno.currentPlatform })

// What no syscall can take as a descriptor (not an int32: "3", 1.5, NaN, 2 ** 40) is
// InvalidOption, not EBADF: no kernel said anything, and BadDescriptor would say one did. An int32
// that names no open file (-1 included) does reach the kernel, and its EBADF is the truth.
const fdProblem = (s: number): ConnectError.InvalidOption | undefined =>
  typeof s === "number" && (s | 0) === s ? undefined : new ConnectError.InvalidOption({
    option: "fd",
    reason: `must be a file descriptor (a whole number that fits in 32 bits), got ${ConnectError.shown(s)}`
  })

// `use` of the addon, for the function `name`.
const native = <A, E, R>(name: string, use: (addon: Binding) => Effect.Effect<A, E, R>) => withAddon(`Raw.${name}`, use)

// `use` on a descriptor that a syscall can take, or the InvalidOption that says why not.
const withFd = <A, E>(
  name: string,
  s: number,
  use: (addon: Binding) => Effect.Effect<A, E>
): Effect.Effect<A, E | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  Effect.suspend((): Effect.Effect<A, E | ConnectError.InvalidOption | ConnectError.Unsupported> => fdProblem(s) ?? native(name, use))

const oneOf = <const T extends string>(option: string, value: T, allowed: ReadonlyArray<T>): ConnectError.InvalidOption | undefined =>
  allowed.includes(value) ? undefined : new ConnectError.InvalidOption({
    option,
    reason: `must be one of ${allowed.join(", ")}, got ${ConnectError.shown(value)}`
  })

/**
 * socket(2), non-blocking and close-on-exec, closed when the scope closes.
 *
 * @since 0.1.0
 * @category syscalls
 */
export const socket = (
  family: Family,
  type: Type
): Effect.Effect<number, ConnectError.ErrnoError | ConnectError.InvalidOption | ConnectError.Unsupported, Scope.Scope> =>
  Effect.suspend((): Effect.Effect<number, ConnectError.ErrnoError | ConnectError.InvalidOption | ConnectError.Unsupported, Scope.Scope> =>
    // An untyped caller's typo must not quietly become AF_UNIX or SOCK_DGRAM, the fallbacks below.
    oneOf("family", family, ["inet", "inet6", "unix"]) ?? oneOf("type", type, ["stream", "datagram"]) ?? native("socket", (addon) => {
      const c = addon.constants
      return Effect.map(
        fd.open(
          addon,
          family === "inet" ? c.AF_INET : family === "inet6" ? c.AF_INET6 : c.AF_UNIX,
          type === "stream" ? c.SOCK_STREAM : c.SOCK_DGRAM,
          context("")
        ),
        (s) => s.fd
      )
    })
  )

// O_PATH (Linux's value on x86 and arm64; node:fs does not name it): a handle only for lookups
// beneath the directory, which needs search permission alone, as a connect does. Elsewhere a
// read-only open.
const directoryFlags = (Errno.currentPlatform === "linux" ? 0o10000000 : constants.O_RDONLY) | constants.O_DIRECTORY

/**
 * open(2) of a directory as a handle for paths beneath it: on Linux `/proc/self/fd/<fd>/name` is
 * a short path to `name` in that directory, whatever the directory's own path length. O_PATH on
 * Linux, so only search permission is needed, as for a connect. Closed when the scope closes.
 * Through node:fs (libuv adds O_CLOEXEC), so it needs no addon: `UnixConnector`'s long-path
 * detour works without it. A path with a NUL byte is EINVAL, as the kernel would say of it.
 *
 * @since 0.1.0
 * @category syscalls
 */
export const openDirectory = (path: string): Effect.Effect<number, ConnectError.ErrnoError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      if (path.includes("\0")) return Effect.fail(fd.errnoError(-EINVAL, "open", context(path)))
      try {
        return Effect.succeed(openSync(path, directoryFlags))
      } catch (error) {
        // A failed open(2) is libuv's code, -errno on every unix; anything else (a path that is
        // no string, from an untyped caller) is thrown on, a defect, as the addon's calls do.
        const errno = (error as NodeJS.ErrnoException).errno
        if (typeof errno !== "number") throw error
        return Effect.fail(fd.errnoError(errno, "open", context(path)))
      }
    }),
    (dir) => Effect.sync(() => closeSync(dir))
  )

/**
 * connect(2), once: EINPROGRESS is the `InProgress` error here (poll with `writable`, then read
 * `pendingError`).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const connect = (
  s: number,
  address: Address.Tcp | Address.Unix | Address.Unspecified
): Effect.Effect<void, ConnectError.ErrnoError | ConnectError.InvalidAddress | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("connect", s, (addon) =>
    Effect.flatMap(sockaddr.toSockAddr(address), (sa) => fd.check(addon.connect(s, sa), "connect", context(Address.format(address)))))

/**
 * bind(2).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const bind = (
  s: number,
  address: Address.Tcp | Address.Unix
): Effect.Effect<void, ConnectError.ErrnoError | ConnectError.InvalidAddress | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("bind", s, (addon) =>
    Effect.flatMap(sockaddr.toSockAddr(address, "bind"), (sa) => fd.check(addon.bind(s, sa), "bind", context(Address.format(address)))))

/**
 * Waits on the main loop until the socket is writable (a connect finished, either way).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const writable = (s: number): Effect.Effect<void, ConnectError.ErrnoError | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("writable", s, (addon) => Effect.asVoid(fd.ready(addon, s, addon.constants.POLL_WRITABLE, context(""))))

/**
 * The outcome of a connect whose socket polled writable, proven: getsockopt(SO_ERROR), and when
 * it holds no error getpeername(2), since SO_ERROR is 0 as well while the handshake is still
 * under way. Succeeds only when the socket is connected. When it is not, connect(2) to the same
 * `address` again says why: `AlreadyInProgress` (EALREADY) while the handshake goes on (poll
 * again), or the failure itself (ECONNABORTED when its errno was already read).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const pendingError = (
  s: number,
  address: Address.Tcp | Address.Unix
): Effect.Effect<void, ConnectError.ErrnoError | ConnectError.InvalidAddress | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("pendingError", s, (addon) => Effect.flatMap(sockaddr.toSockAddr(address), (sa) => {
    const ctx = context(Address.format(address))
    const outcome = fd.proveConnected(addon, s, sa, ctx)
    return outcome === "connected"
      ? Effect.void
      : Effect.fail(outcome === "pending" ? fd.errnoError(-EALREADY, "connect", ctx) : outcome)
  }))

/**
 * getsockname(2).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const localAddress = (
  s: number
): Effect.Effect<Address.Address, ConnectError.ErrnoError | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("localAddress", s, (addon) => fd.endpoint(addon.getsockname(s), "getsockname", context("")))

/**
 * getpeername(2).
 *
 * @since 0.1.0
 * @category syscalls
 */
export const peerAddress = (
  s: number
): Effect.Effect<Address.Address, ConnectError.ErrnoError | ConnectError.InvalidOption | ConnectError.Unsupported> =>
  withFd("peerAddress", s, (addon) => fd.endpoint(addon.getpeername(s), "getpeername", context("")))
