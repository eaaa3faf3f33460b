// The one place that runs a dial for a client: with the captured context, in a scope of its own
// that closes when the socket closes (or at once when the dial fails or is cancelled).
import { ConnectError, type Connection, Connector } from "@effect-connect/core"
import { Cause, Context, Effect, Exit, Scope } from "effect"
import type { Socket } from "node:net"
import { addressOf, defaultDial, type Dial, type Requires, type Target } from "../SocketFactory.js"

/** The dial's error itself, or the socket. */
export type Done = (error: Error | undefined, socket?: Socket) => void

/**
 * What a client asked for: a target, or the InvalidOption that says why its options give none
 * (`done` gets it as it would a failed dial's error, never sooner).
 */
export type Wanted = Target | ConnectError.InvalidOption

/** Starts a dial; the returned function cancels it (closing whatever it opened). */
export type Open = (target: Wanted, done: Done) => () => void

/**
 * `use` applied to an `Open` over `dial` on the current context. The context is captured once:
 * every connection the client makes later runs with it.
 */
export const opener = <E, R, A>(dial: Dial<E, R> | undefined, use: (open: Open) => A): Effect.Effect<A, never, Requires<R>> =>
  Effect.map(Effect.context<Requires<R>>(), (context) => {
    // The default dial is `Connector.connect` on the Connector captured here, looked up once
    // rather than on every connection.
    const connector = dial === undefined ? Context.getOrUndefined(context, Connector.Connector) : undefined
    const dialer = (dial ?? (connector === undefined ? defaultDial : (address) => connector.connect(address))) as Dial<
      E,
      Requires<R> | Scope.Scope
    >
    const run = Effect.runCallbackWith(context)
    const open: Open = (target, done) => {
      // The socket's own scope, made here: an empty scope needs no closing if the dial never runs.
      const scope = Scope.makeUnsafe()
      let socket: Socket | undefined
      const finish = (exit: Exit.Exit<unknown, unknown>) =>
        Exit.isSuccess(exit) ? done(undefined, socket) : done(asError(Cause.squash(exit.cause)))
      // A loopback connect often settles within `run`: `done` is still called later, as a
      // net.Socket's events come after `connect` returns (undici and pg rely on it).
      let returned = false
      const interrupt = run(
        // onExit's cleanup runs uninterruptibly: once the dial has succeeded, the socket is handed
        // out and tied to its scope, or (failed, interrupted) the scope is closed, whatever
        // interrupts the fiber.
        Effect.onExit(
          Scope.provide(
            Effect.suspend((): Effect.Effect<Connection.Connection, unknown, Requires<R> | Scope.Scope> =>
              inputProblem(dial, target) ?? dialer(addressOf(target as Target))
            ),
            scope
          ),
          (exit) => {
            if (Exit.isFailure(exit)) return Scope.close(scope, exit)
            socket = exit.value.toNodeSocket()
            socket.once("close", () => Effect.runFork(Scope.close(scope, Exit.void)))
            return Effect.void
          }
        ),
        { onExit: (exit) => returned ? finish(exit) : process.nextTick(finish, exit) }
      )
      returned = true
      return () => interrupt()
    }
    return use(open)
  })

/**
 * The InvalidOption naming `option` when a client's options object, from an untyped caller, is
 * none: an adapter hands it to `Open` in place of the target.
 */
export const objectProblem = (option: string, value: unknown): ConnectError.InvalidOption | undefined =>
  typeof value !== "object" || value === null
    ? new ConnectError.InvalidOption({ option, reason: `must be an object, got ${ConnectError.shown(value)}` })
    : undefined

// A dial or target from an untyped caller (a client's config) that is none at all: said to the
// client as a typed error, not thrown as a TypeError inside the dial. A target's fields are
// checked by the connect itself (InvalidAddress naming host, port or path).
const inputProblem = (dial: unknown, target: unknown): ConnectError.InvalidOption | ConnectError.InvalidAddress | undefined =>
  dial !== undefined && typeof dial !== "function"
    ? new ConnectError.InvalidOption({ option: "dial", reason: `must be a function, got ${ConnectError.shown(dial)}` })
    : target instanceof ConnectError.InvalidOption
    ? target
    : typeof target !== "object" || target === null
    ? new ConnectError.InvalidAddress({
      input: ConnectError.shown(target),
      field: "family",
      reason: `must be a target, { host, port } or { path }, got ${ConnectError.shown(target)}`
    })
    : undefined

// Our tagged errors are Errors already and pass as they are; anything else a user's dial fails
// with is wrapped, so clients that read `.message` or `.code` do not break.
const asError = (e: unknown): Error => e instanceof Error ? e : new Error(String(e), { cause: e })
