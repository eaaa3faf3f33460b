// `Connection.toSocket()` for both connectors: an Effect Socket over the connection's net.Socket.
import { Effect } from "effect"
import * as Socket from "effect/socket/Socket"
import type * as Net from "node:net"

/**
 * An Effect `Socket` over the `net.Socket` that `open` gives, made when the Socket's reader is
 * first acquired: an `open` that throws (after detach(), or once the scope has closed) fails that
 * acquisition with a SocketError whose reason is a SocketOpenError (its cause what was thrown),
 * typed like any socket that cannot open, rather than a defect. NodeSocket is imported here, on
 * first use, not with the connectors: it loads node:tls (and Node then reads its CA certificates
 * on a thread of its own), about 18 ms of start-up (measured on Node 24) that a program which
 * never asks for a Socket would pay.
 */
export const toSocket = (open: () => Net.Socket): Effect.Effect<Socket.Socket> =>
  Effect.flatMap(Effect.promise(() => import("@effect/platform-node/NodeSocket")), (NodeSocket) =>
    NodeSocket.fromDuplex(Effect.try({
      try: open,
      catch: (cause) => new Socket.SocketError({ reason: new Socket.SocketOpenError({ kind: "Unknown", cause }) })
    })))
