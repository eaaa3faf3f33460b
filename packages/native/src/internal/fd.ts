// The one place that owns file descriptors: open, check a syscall's result, wait for readiness,
// and close exactly once, whoever (we or a net.Socket that adopted the fd) holds it by then.
import { type Address, ConnectError, Errno } from "@effect-connect/core"
import { Effect } from "effect"
import { Socket as NetSocket } from "node:net"
import { constants } from "node:os"
import type { Binding, SockAddr } from "./binding.js"
import { fromSockAddr } from "./sockaddr.js"

export type Context<K extends Errno.Kind | "raw"> = Omit<ConnectError.ErrnoContext<K>, "syscall">

// The platform's names for its errno numbers (the first of aliases such as EAGAIN/EWOULDBLOCK),
// so that an errno the table lacks keeps its name in UnknownErrno.
const errnoNames = new Map<number, string>()
for (const [name, code] of Object.entries(constants.errno)) if (!errnoNames.has(code)) errnoNames.set(code, name)

/** `-errno` from the binding, as the tagged error of the context's kind. */
export const errnoError = <K extends Errno.Kind | "raw">(rc: number, syscall: ConnectError.Syscall, context: Context<K>) => {
  const errnoName = errnoNames.get(-rc)
  return ConnectError.fromErrno(-rc, { ...context, syscall, ...(errnoName === undefined ? {} : { errnoName }) })
}

/** Fails with the tagged error when a binding call returned `-errno`. */
export const check = <K extends Errno.Kind | "raw">(
  rc: number,
  syscall: ConnectError.Syscall,
  context: Context<K>
): Effect.Effect<number, ConnectError.ErrorForKind<K>> =>
  rc < 0 ? Effect.fail(errnoError(rc, syscall, context)) : Effect.succeed(rc)

/** A file descriptor and who closes it. */
export class Fd {
  private node: NetSocket | undefined
  private closed = false
  constructor(private readonly sys: Binding, readonly fd: number) {}

  /** Hands the fd to Node: from now on the net.Socket closes it. */
  toNodeSocket(): NetSocket {
    if (this.closed) throw new Error(`fd ${this.fd} is closed`)
    this.node ??= new NetSocket({ fd: this.fd, readable: true, writable: true })
    return this.node
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.node) this.node.destroy()
    else this.sys.close(this.fd)
  }
}

/** socket(2), scoped: the scope's close closes the fd, also on interruption. */
export const open = <K extends Errno.Kind | "raw">(sys: Binding, domain: number, type: number, context: Context<K>) =>
  Effect.acquireRelease(
    Effect.suspend(() => Effect.map(check(sys.socket(domain, type), "socket", context), (fd) => new Fd(sys, fd))),
    (fd) => Effect.sync(() => fd.close())
  )

/**
 * Waits on the main loop until the fd is ready for `events`; interruption cancels the poll.
 * Resolves with the readiness bits.
 */
export const ready = <K extends Errno.Kind | "raw">(sys: Binding, fd: number, events: number, context: Context<K>) =>
  Effect.async<number, ConnectError.ErrorForKind<K>>((resume) => {
    const handle = sys.poll(fd, events, (status, ready) => {
      resume(status < 0 ? Effect.fail(errnoError(status, "poll", context)) : Effect.succeed(ready))
    })
    if (typeof handle === "number") {
      resume(Effect.fail(errnoError(handle, "poll", context)))
      return
    }
    return Effect.sync(() => handle.cancel())
  })

/**
 * getsockopt(SO_ERROR) after a connect finished: the connect's own errno as its error (the
 * syscall is `connect`), or a failed getsockopt as itself.
 */
export const pendingError = <K extends Errno.Kind | "raw">(sys: Binding, s: number, context: Context<K>) => {
  const rc = sys.getsockoptInt(s, sys.constants.SOL_SOCKET, sys.constants.SO_ERROR)
  return rc > 0 ? check(-rc, "connect", context) : check(rc, "getsockopt", context)
}

/** getsockname/getpeername's answer as an address, or its errno as the tagged error. */
export const endpoint = <K extends Errno.Kind | "raw">(
  sa: SockAddr | number,
  syscall: "getsockname" | "getpeername",
  context: Context<K>
): Effect.Effect<Address.Address, ConnectError.ErrorForKind<K>> =>
  typeof sa === "number" ? Effect.fail(errnoError(sa, syscall, context)) : Effect.succeed(fromSockAddr(sa))
