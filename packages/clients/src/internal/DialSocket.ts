// A socket handed to a client before it is connected, as node:net hands one, so that the client's
// own connect timeout, close and retries act on the dial: for clients whose stream factory is
// synchronous (pg, mysql2, node:http) or that take a socket still connecting and wait for its
// 'connect' (ioredis) or write to it at once (postgres.js, @effect/sql-pg). It dials when the
// client calls `connect` (pg) or at once (`start`), then relays to the connected net.Socket.
import { Duplex } from "node:stream"
import type { AddressInfo, Socket } from "node:net"
import type { Open, Wanted } from "./open.js"

type Pending = { readonly chunk: Buffer; readonly encoding: BufferEncoding; readonly callback: (error?: Error | null) => void }

/** What a client gives `connect`: (path), (port, host?), or ({ port, host } | { path }), then maybe a callback. */
export const targetOf = (args: ReadonlyArray<unknown>, fallback: Wanted): Wanted => {
  const [first, second] = args
  if (typeof first === "string") return { path: first }
  if (typeof first === "number") return { host: typeof second === "string" ? second : "localhost", port: first }
  if (typeof first === "object" && first !== null) {
    const o = first as { readonly path?: string; readonly host?: string; readonly port?: number | string }
    if (typeof o.path === "string") return { path: o.path }
    if (o.port !== undefined) return { host: o.host ?? "localhost", port: Number(o.port) }
  }
  return fallback
}

/**
 * A Duplex that looks like a connecting net.Socket (`connecting`, `pending`, `readyState`,
 * 'connect' and 'ready', `setNoDelay`, `setKeepAlive`, `setTimeout`, `ref`/`unref`, the
 * addresses) until the dial settles: then it relays to the connected socket, or is destroyed with
 * the dial's error itself. Destroying it while it dials cancels the dial, which closes what the
 * dial opened.
 */
export class DialSocket extends Duplex {
  connecting = false
  private inner: Socket | undefined
  private cancel: (() => void) | undefined
  private queued: Pending | undefined
  private finishing: ((error?: Error | null) => void) | undefined
  private noDelay: boolean | undefined
  private keepAlive: readonly [boolean, number] | undefined
  private idle: { readonly ms: number; timer: NodeJS.Timeout | undefined } | undefined
  private refd = true

  constructor(private readonly open: Open, private readonly fallback: Wanted) {
    super({ allowHalfOpen: false })
  }

  get pending(): boolean {
    return this.inner === undefined
  }

  get readyState(): string {
    if (this.connecting) return "opening"
    return this.inner?.readyState ?? "closed"
  }

  get remoteAddress() {
    return this.inner?.remoteAddress
  }
  get remotePort() {
    return this.inner?.remotePort
  }
  get remoteFamily() {
    return this.inner?.remoteFamily
  }
  get localAddress() {
    return this.inner?.localAddress
  }
  get localPort() {
    return this.inner?.localPort
  }
  address(): AddressInfo | {} {
    return this.inner?.address() ?? {}
  }

  /** Dials `connect`'s target (or the one given at construction when there is none). */
  connect(...args: ReadonlyArray<unknown>): this {
    const callback = args.at(-1)
    if (typeof callback === "function") this.once("connect", callback as () => void)
    return this.start(targetOf(args, this.fallback))
  }

  /** Dials the target now. */
  start(target: Wanted = this.fallback): this {
    if (this.connecting || this.inner !== undefined || this.destroyed) return this
    this.connecting = true
    this.cancel = this.open(target, (error, socket) => {
      this.cancel = undefined
      this.connecting = false
      // From the event loop, as a net.Socket's: a dial can fail before the client that was just
      // handed this socket (by a promise: postgres.js, ioredis) has put its listeners on it.
      if (error !== undefined) return void setImmediate(() => this.destroy(error))
      if (this.destroyed) return void socket!.destroy()
      this.attach(socket!)
    })
    return this
  }

  private attach(socket: Socket) {
    this.inner = socket
    if (this.noDelay !== undefined) socket.setNoDelay(this.noDelay)
    if (this.keepAlive !== undefined) socket.setKeepAlive(...this.keepAlive)
    if (!this.refd) socket.unref()
    if (this.idle !== undefined) {
      clearTimeout(this.idle.timer)
      socket.setTimeout(this.idle.ms)
    }
    socket.on("timeout", () => this.emit("timeout"))
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause()
    })
    socket.on("end", () => this.push(null))
    socket.on("error", (error) => this.destroy(error))
    // A clean close after the peer's FIN lets what is buffered be read first: the end pushed
    // above finishes this side; any other close (a reset, a local destroy) ends it now.
    socket.on("close", () => {
      if (!socket.readableEnded) this.destroy()
    })
    const queued = this.queued
    this.queued = undefined
    if (queued !== undefined) socket.write(queued.chunk, queued.encoding, queued.callback)
    const finishing = this.finishing
    this.finishing = undefined
    if (finishing !== undefined) socket.end(finishing)
    this.emit("connect")
    this.emit("ready")
  }

  override _read(): void {
    this.inner?.resume()
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.inner !== undefined) this.inner.write(chunk, encoding, callback)
    else this.queued = { chunk, encoding, callback }
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.inner === undefined) this.finishing = callback
    else if (this.inner.writableEnded || this.inner.destroyed) callback()
    else this.inner.end(callback)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.cancel?.()
    this.cancel = undefined
    this.connecting = false
    if (this.idle !== undefined) clearTimeout(this.idle.timer)
    this.inner?.destroy()
    callback(error)
  }

  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay
    this.inner?.setNoDelay(noDelay)
    return this
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = [enable, initialDelay]
    this.inner?.setKeepAlive(enable, initialDelay)
    return this
  }

  /** As net.Socket's: 'timeout' after `ms` idle (while dialing: after `ms` without a connection). */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once("timeout", callback)
    if (this.inner !== undefined) {
      this.inner.setTimeout(ms)
      return this
    }
    if (this.idle !== undefined) clearTimeout(this.idle.timer)
    this.idle = ms === 0 ? undefined : { ms, timer: setTimeout(() => this.emit("timeout"), ms) }
    if (this.idle !== undefined && !this.refd) this.idle.timer?.unref()
    return this
  }

  ref(): this {
    this.refd = true
    this.inner?.ref()
    return this
  }

  unref(): this {
    this.refd = false
    this.inner?.unref()
    return this
  }
}
