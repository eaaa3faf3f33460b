// Type-level tests: `npm test` runs `tsc -b` over this file first, so an assertion that stops
// holding fails the build; the runtime part only checks that the programs are what they say.
import { Effect, type Schedule, type Scope } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import { Address, ConnectError, Connector, Policy } from "@effect-connect/core"

type ErrorOf<T> = T extends Effect.Effect<infer _A, infer E, infer _R> ? E : never
type Tags<E> = E extends { readonly _tag: infer T } ? T : never

const tcpConnect = Connector.connect(Address.tcp("127.0.0.1", 5432))
const unixConnect = Connector.connect(Address.unix("/run/app.sock"))

describe("the error type is precise per address family", () => {
  it("a tcp connect cannot fail with NotADirectory, a unix one cannot fail with NetworkUnreachable", () => {
    expectTypeOf<Extract<ErrorOf<typeof tcpConnect>, { _tag: "NotADirectory" }>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<typeof unixConnect>, { _tag: "NetworkUnreachable" }>>().toBeNever()
    expectTypeOf<Extract<ErrorOf<typeof tcpConnect>, { _tag: "NetworkUnreachable" }>>().not.toBeNever()
    expectTypeOf<Extract<ErrorOf<typeof unixConnect>, { _tag: "NotADirectory" }>>().not.toBeNever()
    // raw-only state errors never reach the safe API
    expectTypeOf<Extract<ErrorOf<typeof tcpConnect>, { _tag: "AlreadyConnected" | "InProgress" | "BadDescriptor" }>>()
      .toBeNever()
    expect(Effect.isEffect(tcpConnect)).toBe(true)
  })

  it("transient and permanent unions do not overlap", () => {
    expectTypeOf<Extract<ConnectError.TransientConnectError, ConnectError.PermanentConnectError>>().toBeNever()
    expectTypeOf<Tags<ConnectError.TransientConnectError>>().toEqualTypeOf<
      | "ConnectionRefused" | "TimedOut" | "ConnectionReset" | "NetworkUnreachable" | "HostUnreachable"
      | "AddressInUse" | "AddressNotAvailable" | "TryAgain" | "NotFound" | "TooManyOpenFiles" | "OutOfResources"
      | "NetworkDown" | "HostDown" | "ConnectionAborted" | "ResolveFailed"
    >()
    const e = {} as ConnectError.ConnectError
    if (ConnectError.isTransient(e)) expectTypeOf(e).toEqualTypeOf<ConnectError.TransientConnectError>()
  })

  it("after retryTransient, handling the permanent tags and the last transient one leaves no error", () => {
    const program = Connector.connect(Address.unix("/run/app.sock"), { timeout: "1 second" }).pipe(
      Policy.retryTransient(Policy.backoff({ base: "50 millis", cap: "5 seconds", maxAttempts: 10 })),
      Effect.catchTags({
        // permanent: give up with a reason
        InvalidAddress: (e) => Effect.succeed(`bad input: ${e.message}`),
        PermissionDenied: (e) => Effect.succeed(`permission: ${e.reason}`),
        NotADirectory: (e) => Effect.succeed(e.message),
        NameTooLong: (e) => Effect.succeed(e.message),
        SymlinkLoop: (e) => Effect.succeed(e.message),
        WrongProtocolType: (e) => Effect.succeed(e.message),
        OperationNotPermitted: (e) => Effect.succeed(e.message),
        AddressFamilyNotSupported: (e) => Effect.succeed(e.message),
        InvalidArgument: (e) => Effect.succeed(e.message),
        ProtocolNotSupported: (e) => Effect.succeed(e.message),
        ProtocolNotAvailable: (e) => Effect.succeed(e.message),
        OperationNotSupported: (e) => Effect.succeed(e.message),
        UnknownErrno: (e) => Effect.succeed(e.message),
        // a backoff whose options it cannot use
        InvalidOption: (e) => Effect.succeed(`${e.option}: ${e.reason}`),
        // the last transient one, after the schedule gave up
        ConnectionRefused: (e) => Effect.succeed(`stale socket: ${e.address}`),
        NotFound: (e) => Effect.succeed(`no socket file: ${e.address}`),
        TimedOut: (e) => Effect.succeed(`timed out (${e.source})`),
        TryAgain: (e) => Effect.succeed(`backlog: ${e.reason}`),
        AddressInUse: (e) => Effect.succeed(e.message),
        TooManyOpenFiles: (e) => Effect.succeed(`fds: ${e.scope}`),
        OutOfResources: (e) => Effect.succeed(e.message)
      }),
      Effect.map((result) => (typeof result === "string" ? result : result.fd))
    )
    expectTypeOf<ErrorOf<typeof program>>().toBeNever()
    expectTypeOf(program).toEqualTypeOf<Effect.Effect<string | number, never, Connector.Connector | Scope.Scope>>()
    expect(Effect.isEffect(program)).toBe(true)
  })

  it("only a backoff can be an InvalidOption; a deadline adds TimedOut and InvalidOption", () => {
    const backedOff = tcpConnect.pipe(Policy.retryTransient(Policy.backoff({ base: "1 millis" })))
    expectTypeOf<Extract<ErrorOf<typeof backedOff>, { _tag: "InvalidOption" }>>().toEqualTypeOf<ConnectError.InvalidOption>()
    const unixDeadline = unixConnect.pipe(Policy.deadline("1 second"))
    expectTypeOf<Tags<ErrorOf<typeof unixDeadline>>>().toEqualTypeOf<Tags<ErrorOf<typeof unixConnect>> | "InvalidOption">()
    const scheduled = Effect.fail("x" as const).pipe(Policy.retryTransient({} as Schedule.Schedule<number>))
    expectTypeOf<ErrorOf<typeof scheduled>>().toEqualTypeOf<"x">()
  })
})
