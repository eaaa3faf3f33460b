/**
 * The raw native binding: non-blocking BSD socket calls from the C++ addon
 * (`native/addon.cc`, `native/poll.cc`, `native/sys_unix.cc`), typed.
 *
 * Conventions, without exception:
 *
 * - Every call is synchronous and returns a number: `>= 0` on success, `-errno` on failure
 *   (the Linux kernel's convention; compare with `os.constants.errno`). Calls that produce an
 *   object return the object, or a negative errno number.
 * - An OS error never throws. Only a JavaScript argument of the wrong type throws a
 *   `TypeError` (a file descriptor or integer argument that is not an int32, a unix address
 *   that is not a `Uint8Array`, ...).
 * - Nothing retries: one system call per function, and the kernel's answer as it was given
 *   (`connect` returns `-EINPROGRESS`, `-EINTR`, `-EALREADY`, ... for the caller to decide).
 * - Every socket is non-blocking and close-on-exec; transfers never block and never raise
 *   SIGPIPE.
 *
 * @packageDocumentation
 * @since 0.1.0
 */
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

/**
 * A socket address as it crosses the native boundary.
 *
 * - `AF_INET`: `address` is a dotted quad (`"127.0.0.1"`), `port` the port.
 * - `AF_INET6`: `address` is an IPv6 address without brackets or zone (`"::1"`); the zone
 *   goes in `scopeId` (an interface index). Addresses returned by the binding always carry
 *   `flowInfo` and `scopeId`.
 * - `AF_UNIX`: `address` is a `Uint8Array` of the raw `sun_path` bytes, `port` is ignored on
 *   input and 0 on output. An abstract name (Linux) starts with a 0 byte and is used byte for
 *   byte; a path carries no terminator (the addon adds it). Longer than
 *   `constants.SUN_PATH_MAX` gives `-ENAMETOOLONG` without a system call. Returned unix
 *   addresses are clamped to `sizeof(sockaddr_un)`, cut at a path's first NUL, and empty for
 *   an unnamed socket.
 * - `AF_UNSPEC`: only `family` matters; `connect` to it dissolves a datagram association.
 *   Returned when the kernel reports no address (e.g. `recvfrom` from an unnamed unix
 *   sender), then with `address: ""` and `port: 0`.
 *
 * Text that `inet_pton(3)` rejects gives `-EINVAL`, a family the addon cannot encode gives
 * `-EAFNOSUPPORT`, a port outside 0..65535 (or a non-integral one) gives `-EINVAL`: all
 * without a system call.
 *
 * @since 0.1.0
 * @category models
 */
export interface SockAddr {
  readonly family: number
  readonly address: string | Uint8Array
  readonly port: number
  readonly flowInfo?: number
  readonly scopeId?: number
}

/**
 * The platform's numbers for the constants the binding takes, plus the addon's own poll
 * bits. Options that only some platforms have are optional: absent means "not supported
 * here".
 *
 * @since 0.1.0
 * @category models
 */
export interface Constants {
  readonly AF_INET: number
  readonly AF_INET6: number
  readonly AF_UNIX: number
  readonly AF_UNSPEC: number
  readonly SOCK_STREAM: number
  readonly SOCK_DGRAM: number
  readonly SOL_SOCKET: number
  readonly SO_ERROR: number
  readonly SO_REUSEADDR: number
  /** Not on every platform (Linux >= 3.9, the BSDs, macOS). */
  readonly SO_REUSEPORT?: number
  readonly SO_KEEPALIVE: number
  readonly SO_BROADCAST: number
  readonly SO_SNDBUF: number
  readonly SO_RCVBUF: number
  readonly IPPROTO_TCP: number
  readonly TCP_NODELAY: number
  /** Linux: SYN retransmits before a connect gives up with ETIMEDOUT. */
  readonly TCP_SYNCNT?: number
  /** Linux: milliseconds unacknowledged data may stay outstanding before ETIMEDOUT. */
  readonly TCP_USER_TIMEOUT?: number
  /** Linux and FreeBSD: idle seconds before the first keepalive probe. */
  readonly TCP_KEEPIDLE?: number
  /** `sizeof(sockaddr_un.sun_path)`: 108 on Linux, 104 on macOS and FreeBSD. */
  readonly SUN_PATH_MAX: number
  /** The largest `maxBytes` `recvfrom` takes: 1 MiB (the addon's own cap, not the kernel's). */
  readonly RECV_MAX: number
  /** `poll()` interest and readiness bit: readable. */
  readonly POLL_READABLE: number
  /** `poll()` interest and readiness bit: writable (a connect finished, either way). */
  readonly POLL_WRITABLE: number
  /**
   * `poll()` readiness bit only: the kernel flagged POLLERR, i.e. the socket has a pending
   * error (e.g. a refused connect). Always reported together with the requested bits; read
   * the error with `getsockoptInt(fd, SOL_SOCKET, SO_ERROR)`.
   */
  readonly POLL_ERROR: number
}

/**
 * A pending one-shot poll, as returned by {@link Binding.poll}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PollHandle {
  /**
   * Stops and closes the poll; its callback will not be called. A no-op once the callback
   * was called and after a previous `cancel()`. After `close(fd)` retired the poll, it drops
   * the pending `-EBADF` call.
   */
  cancel(): void
}

/**
 * A watch of an fd, as returned by {@link Binding.watch}: it calls its callback on every loop
 * turn that finds the fd ready for the events it is set to, until closed.
 *
 * @since 0.2.0
 * @category models
 */
export interface WatchHandle {
  /**
   * Watches for `events` (`POLL_READABLE` and/or `POLL_WRITABLE`) from now on; 0 stops
   * watching (the watch stays, for the next `set`, and no longer keeps the event loop alive).
   * Readiness pending for the events watched before is dropped. Returns 0, `-EINVAL` for other
   * bits, `-EBADF` once the watch is closed (by `close()` or by `close(fd)`), or libuv's error
   * (`-EEXIST` when another libuv handle, e.g. a net.Socket's, watches the fd), after which the
   * watch watches nothing.
   */
  set(events: number): number
  /**
   * Stops and closes the watch; its callback is not called again. A no-op after a previous
   * `close()`, and after `close(fd)`'s `-EBADF` call; between `close(fd)` and that call, it
   * drops the call.
   */
  close(): void
}

/**
 * Called once when a poll fires, and each time a watch fires. `status` is 0, or `-EBADF`
 * when `close(fd)` retired the poll before it fired, or the watch (then `events` is 0), or in
 * principle another negative libuv error (`-errno`; a watch that meets one stops watching).
 * `events` holds `POLL_READABLE` / `POLL_WRITABLE`, plus `POLL_ERROR` when the socket has a
 * pending error.
 *
 * @since 0.1.0
 * @category models
 */
export type PollCallback = (status: number, events: number) => void

/**
 * A datagram (or bytes of a stream) received by {@link Binding.recvfrom}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received {
  /** The bytes received: a fresh copy, at most `maxBytes` long. */
  readonly data: Uint8Array
  /** The sender, or `AF_UNSPEC` when the kernel reports none. */
  readonly from: SockAddr
  /** The datagram was longer than `maxBytes`: the rest was discarded by the kernel. */
  readonly truncated: boolean
}

/**
 * The functions of the native addon. See the module documentation for the conventions:
 * numbers `>= 0` are successes, negative numbers are `-errno`, only wrong argument types
 * throw.
 *
 * @since 0.1.0
 * @category models
 */
export interface Binding {
  readonly constants: Constants
  /**
   * socket(2) with `type | SOCK_NONBLOCK | SOCK_CLOEXEC` and protocol 0: the new fd, or
   * `-errno` (`-EAFNOSUPPORT`, `-EMFILE`, ...).
   */
  socket(domain: number, type: number): number
  /** setsockopt(2) of an int-valued option: 0 or `-errno`. */
  setsockoptInt(fd: number, level: number, name: number, value: number): number
  /**
   * getsockopt(2) of an int-valued option: the value (`>= 0`) or `-errno`. For `SO_ERROR`
   * the value is the pending error as a POSITIVE errno (0 for none), and reading it clears
   * it. Options whose value can be negative cannot be read through this call.
   */
  getsockoptInt(fd: number, level: number, name: number): number
  /** bind(2): 0 or `-errno` (or an address conversion error, see {@link SockAddr}). */
  bind(fd: number, address: SockAddr): number
  /**
   * connect(2), exactly once: 0 when connected (unix stream sockets, datagram
   * associations), `-EINPROGRESS` when a stream connection is under way (poll for
   * writable, then read `SO_ERROR`), or any other `-errno` as the kernel said it. Linux
   * detail: the first `connect` after a non-blocking connect completed returns 0 (and
   * marks the socket connected); only later ones return `-EISCONN`.
   */
  connect(fd: number, address: SockAddr): number
  /** listen(2): 0 or `-errno`. */
  listen(fd: number, backlog: number): number
  /**
   * close(2): 0 or `-errno` (`-EBADF`). EINTR counts as closed (0). A poll still pending
   * on the fd (in this thread), or a watch, is retired first; its callback then gets `-EBADF`,
   * later (from the event loop, never inside `close`), unless the poll is cancelled (the watch
   * closed) before that.
   */
  close(fd: number): number
  /** getsockname(2): the local address, or `-errno`. */
  getsockname(fd: number): SockAddr | number
  /** getpeername(2): the peer's address, or `-errno` (`-ENOTCONN` while not connected). */
  getpeername(fd: number): SockAddr | number
  /**
   * send(2) with MSG_DONTWAIT | MSG_NOSIGNAL: bytes queued, or `-errno` (`-EAGAIN`,
   * `-EPIPE`, `-EDESTADDRREQ` on a datagram socket with no association, ...).
   */
  send(fd: number, data: Uint8Array): number
  /**
   * sendto(2) with MSG_DONTWAIT | MSG_NOSIGNAL: bytes queued, or `-errno`. The address is read
   * (getters run) before the data's bytes are taken, so nothing in it can free them under the
   * call; data whose buffer is detached by then is sent as an empty datagram.
   */
  sendto(fd: number, data: Uint8Array, address: SockAddr): number
  /**
   * recvmsg(2) with MSG_DONTWAIT, at most `maxBytes`: what was received, or `-errno`
   * (`-EAGAIN` when nothing is queued; `-EINVAL`, without a system call, for a `maxBytes` that
   * is not an integer from 0 to `constants.RECV_MAX`, `-ENOMEM` when its buffer cannot be had).
   * Up to 64 KiB are received into a buffer the addon keeps; a larger `maxBytes` gets a buffer
   * for that call only.
   */
  recvfrom(fd: number, maxBytes: number): Received | number
  /**
   * poll(2) with a zero timeout, so it never waits: the readiness bits set now
   * (`POLL_READABLE` / `POLL_WRITABLE`, plus `POLL_ERROR` for POLLERR or POLLHUP), 0 when none
   * is, or `-errno` (`-EBADF` for a closed fd, `-EINVAL` for bad `events`). A non-blocking
   * connect to loopback has usually finished when connect(2) returns EINPROGRESS; this finds
   * out without waiting for an event loop turn.
   */
  pollNow(fd: number, events: number): number
  /**
   * A one-shot libuv poll on the calling thread's loop for `events` (`POLL_READABLE` and/or
   * `POLL_WRITABLE`). When the fd is ready the poll is stopped and closed, then `callback`
   * runs once, as a macrotask (its microtasks run right after it). While pending, the poll
   * keeps the event loop alive. Returns the handle, or `-errno`: `-EINVAL` for bad
   * `events`, `-EEXIST` when the fd is already being polled or watched, `-EBADF` / `-EPERM`
   * for a descriptor that cannot be polled. Cancel the poll, or let it fire, before closing the
   * fd through any other means than this binding's `close`.
   */
  poll(fd: number, events: number, callback: PollCallback): PollHandle | number
  /**
   * A lasting libuv watch of the fd on the calling thread's loop, set to no events at first:
   * once `set` to `POLL_READABLE` and/or `POLL_WRITABLE`, `callback(status, events)` runs (as
   * a macrotask, like a poll's) on every loop turn that finds the fd ready for them, again and
   * again while it stays ready, until `close()`. `events` holds the ready bits of those set;
   * when the socket has a pending error, every bit set plus `POLL_ERROR`. `close(fd)`
   * retires the watch: the callback then gets `-EBADF` once, later. While set to some events,
   * the watch keeps the event loop alive. Returns the handle, or `-errno`: `-EEXIST` when the
   * fd is already being polled or watched (one libuv handle per fd), `-EBADF` / `-EPERM` for a
   * descriptor that cannot be polled. Close the watch before closing the fd through any other
   * means than this binding's `close`.
   */
  watch(fd: number, callback: PollCallback): WatchHandle | number
}

const require = createRequire(import.meta.url)

// The package's root: node-gyp-build looks there for build/Release (a build from source) first,
// then for prebuilds/<platform>-<arch>/ (the prebuilt addons the package ships).
const packageRoot = fileURLToPath(new URL("../..", import.meta.url))

/**
 * The environment variable that keeps the addon from loading when set to `0`: what a process
 * without it looks like (`NativeConnector.layer` falls back to `NodeConnector`), for tests and
 * for a user who wants `node:net` everywhere without changing code.
 *
 * @since 0.2.0
 * @category loading
 */
export const disableVariable = "EFFECT_CONNECT_NATIVE"

// The addon once loaded; a load that failed is tried again at the next use, as `require` does
// (a process out of descriptors cannot open the file, and may be able to later).
let loaded: Binding | undefined

const attempt = (): Binding | string => {
  if (process.env[disableVariable] === "0") return `${disableVariable}=0 is set`
  try {
    loaded = (require("node-gyp-build") as (root: string) => Binding)(packageRoot)
    return loaded
  } catch (error) {
    return error instanceof Error ? error.message.trim() : String(error)
  }
}

/**
 * The addon (`build/Release/effect_connect.node` when built from source, else the prebuild for
 * this platform), or why it could not be loaded (the loader's error message, or that
 * {@link disableVariable} is `0`). Loaded on first use, never at import, and kept once loaded;
 * after a failure each call tries again.
 *
 * @since 0.2.0
 * @category loading
 */
export const load = (): Binding | string => loaded ?? attempt()

/**
 * The addon, for tests and tools that need it: throws the load error when it could not be loaded.
 *
 * @since 0.2.0
 * @category loading
 */
export const loadedBinding = (): Binding => {
  const addon = load()
  if (typeof addon === "string") throw new Error(`the effect-connect addon could not be loaded: ${addon}`)
  return addon
}
