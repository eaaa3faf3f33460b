/**
 * One tagged error class per row of the errno table, the unions that say which of them a connect
 * can fail with, and `fromErrno`, the one function that turns an errno into its error.
 *
 * @since 0.1.0
 */
import { type Cause as EffectCause, Predicate, Schema, SchemaGetter, SchemaIssue } from "effect"
import * as Errno from "./Errno.js"
import * as Options from "./internal/options.js"

/**
 * The syscall that failed. `deadline` is not a syscall: it marks our own timeout.
 *
 * @since 0.1.0
 * @category models
 */
export const Syscall = Schema.Literals([
  "socket", "setsockopt", "bind", "connect", "getsockopt", "getsockname", "getpeername", "send", "recv", "poll", "open"
])

/**
 * The syscall that failed, as a type.
 *
 * @since 0.1.0
 * @category models
 */
export type Syscall = typeof Syscall.Type

/**
 * What a walk of a unix socket's path found wrong, component by component (see
 * `@effect-connect/unix`).
 *
 * @since 0.1.0
 * @category models
 */
export const PathProblem = Schema.Literals(Object.keys(Errno.pathProblems) as ReadonlyArray<keyof typeof Errno.pathProblems>)

/**
 * What a walk of a unix socket's path found wrong, as a type.
 *
 * @since 0.1.0
 * @category models
 */
export type PathProblem = typeof PathProblem.Type

/**
 * The component of a unix socket's path where the connect failed, and why.
 *
 * @since 0.1.0
 * @category models
 */
export const PathDiagnosis = Schema.Struct({ component: Schema.String, problem: PathProblem })

/**
 * Where on a unix socket's path the connect failed, and why, as a type.
 *
 * @since 0.1.0
 * @category models
 */
export type PathDiagnosis = typeof PathDiagnosis.Type

const commonFields = {
  code: Schema.Number,
  syscall: Syscall,
  address: Schema.String,
  transient: Schema.Boolean,
  /** For a unix path, where on the path it failed and why, when the path was walked. */
  diagnosis: Schema.optional(PathDiagnosis),
  /** How many attempts a retry policy made before it gave up with this error. */
  attempts: Schema.optional(Schema.Number)
}

type ErrnoFields<T extends Errno.Tag> = {
  readonly errno: Schema.Literals<ReadonlyArray<Errno.NamesOf<T>>>
} & typeof commonFields

interface Described {
  readonly errno: string
  readonly syscall: string
  readonly address: string
  readonly diagnosis?: PathDiagnosis | undefined
  readonly attempts?: number | undefined
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key)

const rowOf = (errno: string): Errno.Row | undefined => Errno.isName(errno) ? Errno.table[errno] : undefined

const isSymbolic = (errno: string) => /^E[A-Z0-9]+$/.test(errno)

const afterAttempts = (attempts: number | undefined) =>
  attempts === undefined || attempts <= 1 ? "" : ` after ${attempts} attempts`

/**
 * "failed with ECONNREFUSED after 3 attempts: the peer refused the connection (nothing is
 * listening on that port)": everything but the syscall and the address, so that a policy can say
 * what the last attempt of a loop it ended failed with. A diagnosis says exactly what happened, in
 * place of the table's general meaning and hint.
 */
const failure = (
  e: Described,
  options: {
    readonly extra?: string | undefined
    readonly hint?: string | undefined
    readonly attempts?: boolean
    readonly code?: number
  } = {}
): string => {
  // A name says more than a number; a number nobody could name is said as one.
  const errno = !isSymbolic(e.errno) ? `errno ${e.errno}`
    : options.code === undefined || options.code < 0 ? e.errno
    : `${e.errno} (errno ${options.code})`
  const head = `failed with ${errno}${options.attempts === false ? "" : afterAttempts(e.attempts)}`
  const extra = options.extra ? `, ${options.extra}` : ""
  if (e.diagnosis !== undefined && hasOwn(Errno.pathProblems, e.diagnosis.problem)) {
    return `${head}${extra}: ${e.diagnosis.component}: ${Errno.pathProblems[e.diagnosis.problem].meaning}`
  }
  const row = rowOf(e.errno)
  const hint = options.hint ?? (row === undefined ? undefined : Errno.hintOf(row, Errno.familyOf(e.address)))
  return `${head}${row ? `: ${row.meaning}` : ""}${extra}${hint ? ` (${hint})` : ""}`
}

const where = (e: { readonly syscall: string; readonly address: string }) => `${e.syscall} ${e.address || "(no address)"}`

const describe = (e: Described, extra?: string, hint?: string): string => `${where(e)} ${failure(e, { extra, hint })}`

// The class an errno error class extends: a schema-backed, yieldable tagged error.
type ErrnoErrorClass<Self, T extends Errno.Tag, Extra extends Schema.Struct.Fields> = Schema.Class<
  Self,
  Schema.TaggedStruct<T, ErrnoFields<T> & Extra>,
  EffectCause.YieldableError
>

// Each class is one line below: its tag, errno literals, message and transient default all come
// from the table. The message is a getter, so it is derived from the fields and never stored.
const ErrnoError = <Self>() =>
<T extends Errno.Tag, Extra extends Schema.Struct.Fields = {}>(
  tag: T,
  extra?: Extra,
  detail?: (self: Schema.Struct.Type<Extra>) => string | undefined,
  hint?: (self: Schema.Struct.Type<Extra>) => string | undefined
): ErrnoErrorClass<Self, T, Extra> => {
  const errnos = Errno.namesOf(tag)
  const cls = Schema.TaggedError<Self>()(tag, { errno: Schema.Literals(errnos), ...commonFields, ...extra })
  Object.defineProperty((cls as unknown as { prototype: object }).prototype, "message", {
    get(this: Described & Schema.Struct.Type<Extra>) {
      return describe(this, detail?.(this), hint?.(this))
    },
    enumerable: false,
    configurable: true
  })
  return cls as unknown as ErrnoErrorClass<Self, T, Extra>
}

/**
 * `ECONNREFUSED`: the peer refused the connection (nothing listens at the address).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionRefused extends ErrnoError<ConnectionRefused>()("ConnectionRefused") {}
/**
 * The last attempt's error kept by a policy that gave up: any error, encoded as itself when it is
 * one of this module's, else as its tag and message (decoded back as a plain `{ _tag, message }`).
 *
 * @since 0.1.0
 * @category models
 */
export const Cause: Schema.Codec<unknown, unknown> = Schema.suspend((): Schema.Codec<unknown, unknown> =>
  Schema.Union([...causeMembers(), Foreign])
)

const Foreign = Schema.Struct({ _tag: Schema.String, message: Schema.String }).pipe(
  Schema.decodeTo(Schema.Unknown, {
    decode: SchemaGetter.transform((encoded) => encoded),
    encode: SchemaGetter.transform((u: unknown) => ({
      _tag: Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" ? u._tag : "Error",
      message: Predicate.hasProperty(u, "message") && typeof u.message === "string" ? u.message : String(u)
    }))
  })
)

const seconds = (millis: number) => millis < 1000 ? `${Math.round(millis)} ms` : `${(millis / 1000).toFixed(1)} s`

/**
 * A connect that did not finish in time.
 *
 * - `source: "kernel"`: the kernel gave up (ETIMEDOUT): the peer never answered.
 * - `source: "deadline"`: our own timeout passed first; `scope` says which: the per-attempt
 *   `timeout` of a connect, or an overall `Policy.deadline`. Then `elapsed` (milliseconds) is how
 *   long it waited, `attempts` how many attempts had started, and `cause` the last failed
 *   attempt's own error (with its diagnosis), also the JavaScript `Error.cause`. The message says
 *   what happened and never reads as the kernel's ETIMEDOUT; `errno` and `code` stay ETIMEDOUT's
 *   for the class.
 *
 * `cause` is typed `unknown` because it is whatever the effect under `Policy.deadline` failed
 * with last, which need not be a connect (a retried query, a `{ _tag: "Busy" }` of your own);
 * `ConnectError.isConnectError(e.cause)` narrows it to this module's errors, and then
 * `e.cause._tag` is the union of their tags.
 *
 * @since 0.1.0
 * @category errors
 */
export class TimedOut extends ErrnoError<TimedOut>()(
  "TimedOut",
  {
    source: Schema.Literals(["kernel", "deadline"]),
    scope: Schema.optional(Schema.Literals(["attempt", "overall"])),
    elapsed: Schema.optional(Schema.Number),
    cause: Schema.optional(Cause)
  },
  () => "the kernel gave up"
) {
  override get message(): string {
    if (this.source === "kernel") return super.message
    return `${where(this)}: ${this.scope === "attempt" ? perAttempt(this) + afterAttempts(this.attempts) : gaveUp(this)}`
  }
}

const perAttempt = (e: TimedOut) =>
  `the per-attempt timeout${e.elapsed === undefined ? "" : ` of ${seconds(e.elapsed)}`} passed before the connect finished`

// What the last attempt under a deadline did, after "the last" or "attempt N": " failed with
// ...", or ", connect <address>, failed with ..." when that is not the deadline's own address.
const lastDid = (cause: unknown, address: string): string => {
  if (!isErrnoError(cause)) {
    return ` failed: ${Predicate.hasProperty(cause, "message") ? String(cause.message) : String(cause)}`
  }
  const at = cause.address === address ? "" : `, ${where(cause)},`
  if (cause._tag === "TimedOut" && cause.source === "deadline") {
    return cause.scope === "attempt" ? `${at} was stopped: ${perAttempt(cause)}` : `${at} was stopped: ${gaveUp(cause)}`
  }
  return `${at} ${failure(cause, { attempts: false })}`
}

// What an overall deadline found when it passed, from the attempts its journal counted.
const gaveUp = (e: TimedOut): string => {
  const head = `gave up${e.elapsed === undefined ? "" : ` after ${seconds(e.elapsed)}`}`
  const attempts = e.attempts ?? 0
  const cause = e.cause
  if (cause === undefined) {
    return attempts === 0 ? (e.elapsed === undefined ? "the deadline passed before the connect finished" : head)
      : attempts === 1 ? `${head}: the first attempt had not finished` : `${head} during attempt ${attempts}`
  }
  const failedAt = isErrnoError(cause) ? cause.attempts ?? attempts : attempts
  const said = lastDid(cause, e.address)
  return failedAt < attempts
    ? `${head} during attempt ${attempts}; attempt ${failedAt}${said}`
    : `${head}${attempts > 0 ? ` and ${attempts} attempt${attempts === 1 ? "" : "s"}` : ""}; the last${said}`
}
/**
 * `ECONNRESET`: the peer reset the connection while it was being established.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionReset extends ErrnoError<ConnectionReset>()("ConnectionReset") {}
/**
 * `ENETUNREACH`: no route to the destination's network.
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkUnreachable extends ErrnoError<NetworkUnreachable>()("NetworkUnreachable") {}
/**
 * `EHOSTUNREACH`: the destination host cannot be reached.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostUnreachable extends ErrnoError<HostUnreachable>()("HostUnreachable") {}
/**
 * `EADDRINUSE`: the local address is already in use.
 *
 * @since 0.1.0
 * @category errors
 */
export class AddressInUse extends ErrnoError<AddressInUse>()("AddressInUse") {}
/**
 * `EADDRNOTAVAIL`: the local address is not available on this machine.
 *
 * @since 0.1.0
 * @category errors
 */
export class AddressNotAvailable extends ErrnoError<AddressNotAvailable>()("AddressNotAvailable") {}
/**
 * `reason`: over IP no ephemeral port was free (BSD); on a Linux unix socket the listener's
 * backlog was full.
 *
 * @since 0.1.0
 * @category errors
 */
export class TryAgain extends ErrnoError<TryAgain>()(
  "TryAgain",
  { reason: Schema.Literals(["ports-exhausted", "backlog-full"]) },
  (e) => e.reason
) {}
const reasons = Errno.table.EACCES.reasons

/**
 * `reason` says which of the manual page's EACCES causes it was, where that is known, each with
 * its hint: `broadcast` (no SO_BROADCAST), `prohibited` (a route or firewall forbids the
 * destination: the default over IP), `search-prefix` and `socket-write` (a unix path's
 * permissions), `unknown`.
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied extends ErrnoError<PermissionDenied>()(
  "PermissionDenied",
  { reason: Schema.Literals([...(Object.keys(reasons) as Array<keyof typeof reasons>), "unknown"]) },
  (e) => e.reason === "unknown" ? undefined : e.reason,
  (e) => e.reason === "unknown" ? undefined : reasons[e.reason]
) {}
/**
 * `EPERM`: the operation is not permitted (a firewall rule or a security module rejected it).
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationNotPermitted extends ErrnoError<OperationNotPermitted>()("OperationNotPermitted") {}
/**
 * `EAFNOSUPPORT`: addresses of this family cannot be used with this socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class AddressFamilyNotSupported
  extends ErrnoError<AddressFamilyNotSupported>()("AddressFamilyNotSupported")
{}
/**
 * `EPROTOTYPE`: the socket type does not match the peer's (a stream socket connecting to a
 * datagram socket's path).
 *
 * @since 0.1.0
 * @category errors
 */
export class WrongProtocolType extends ErrnoError<WrongProtocolType>()("WrongProtocolType") {}
/**
 * `EISCONN`: the socket is already connected.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyConnected extends ErrnoError<AlreadyConnected>()("AlreadyConnected") {}
/**
 * `EALREADY`: a previous connect on this socket has not completed yet.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyInProgress extends ErrnoError<AlreadyInProgress>()("AlreadyInProgress") {}
/**
 * `EINPROGRESS`: the non-blocking connect has started and has not completed yet.
 *
 * @since 0.1.0
 * @category errors
 */
export class InProgress extends ErrnoError<InProgress>()("InProgress") {}
/**
 * `EINTR`: a signal interrupted the call; the connect goes on in the background.
 *
 * @since 0.1.0
 * @category errors
 */
export class Interrupted extends ErrnoError<Interrupted>()("Interrupted") {}
/**
 * `EBADF`: the descriptor is not a valid open file descriptor.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadDescriptor extends ErrnoError<BadDescriptor>()("BadDescriptor") {}
/**
 * `ENOTSOCK`: the descriptor refers to a file, not a socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotASocket extends ErrnoError<NotASocket>()("NotASocket") {}
/**
 * `EFAULT`: the address argument points outside the process's address space.
 *
 * @since 0.1.0
 * @category errors
 */
export class BadAddress extends ErrnoError<BadAddress>()("BadAddress") {}
/**
 * `ENOENT`: the socket file does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends ErrnoError<NotFound>()("NotFound") {}
/**
 * `ENOTDIR`: a component of the path prefix is not a directory.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotADirectory extends ErrnoError<NotADirectory>()("NotADirectory") {}
/**
 * `limit`: the platform's limit in bytes, where the check was ours rather than the kernel's.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameTooLong extends ErrnoError<NameTooLong>()(
  "NameTooLong",
  { limit: Schema.optional(Schema.Number) },
  (e) => e.limit === undefined ? undefined : `the limit is ${e.limit} bytes`
) {}
/**
 * `ELOOP`: too many symbolic links were met while resolving the path.
 *
 * @since 0.1.0
 * @category errors
 */
export class SymlinkLoop extends ErrnoError<SymlinkLoop>()("SymlinkLoop") {}
/**
 * `EINVAL`: an argument is invalid for this socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends ErrnoError<InvalidArgument>()("InvalidArgument") {}
/**
 * `scope`: EMFILE is the process's limit, ENFILE the system's.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyOpenFiles extends ErrnoError<TooManyOpenFiles>()(
  "TooManyOpenFiles",
  { scope: Schema.Literals(["process", "system"]) }
) {}
/**
 * `ENOBUFS` or `ENOMEM`: the kernel has no buffer space or memory for the socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutOfResources extends ErrnoError<OutOfResources>()("OutOfResources") {}
/**
 * `EPROTONOSUPPORT`: the protocol is not supported for this family and socket type.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolNotSupported extends ErrnoError<ProtocolNotSupported>()("ProtocolNotSupported") {}
/**
 * `ENOTCONN`: the socket has no peer.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotConnected extends ErrnoError<NotConnected>()("NotConnected") {}
/**
 * `EDESTADDRREQ`: a send needs a destination and the socket has no peer.
 *
 * @since 0.1.0
 * @category errors
 */
export class DestinationRequired extends ErrnoError<DestinationRequired>()("DestinationRequired") {}
/**
 * `ENOPROTOOPT`: the protocol is not available.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolNotAvailable extends ErrnoError<ProtocolNotAvailable>()("ProtocolNotAvailable") {}
/**
 * `ENETDOWN`: the network is down.
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkDown extends ErrnoError<NetworkDown>()("NetworkDown") {}
/**
 * `EHOSTDOWN`: the destination host is down.
 *
 * @since 0.1.0
 * @category errors
 */
export class HostDown extends ErrnoError<HostDown>()("HostDown") {}
/**
 * `ECONNABORTED`: the local network stack aborted the connection.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionAborted extends ErrnoError<ConnectionAborted>()("ConnectionAborted") {}
/**
 * `EOPNOTSUPP`: the operation is not supported on this socket.
 *
 * @since 0.1.0
 * @category errors
 */
export class OperationNotSupported extends ErrnoError<OperationNotSupported>()("OperationNotSupported") {}
/**
 * `EPROTO`: a protocol error.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends ErrnoError<ProtocolError>()("ProtocolError") {}
/**
 * `EMSGSIZE`: the datagram is larger than the socket or the path allows.
 *
 * @since 0.1.0
 * @category errors
 */
export class MessageTooLong extends ErrnoError<MessageTooLong>()("MessageTooLong") {}

/**
 * An errno the table does not know, or one the kernel returned where the table says it cannot
 * happen: the symbolic name (given by the caller, who can ask the platform) and the number are
 * kept, so nothing is lost. `errno` is the number, as a string, only when nobody could name it.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownErrno extends Schema.TaggedError<UnknownErrno>()("UnknownErrno", {
  errno: Schema.String,
  ...commonFields
}) {
  override get message(): string {
    return `${where(this)} ${failure(this, { code: this.code })}`
  }
}

/**
 * Bad input, found before any syscall: which field was wrong and why.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidAddress extends Schema.TaggedError<InvalidAddress>()("InvalidAddress", {
  input: Schema.String,
  field: Schema.Literals(["scheme", "host", "port", "path", "name", "family", "option"]),
  reason: Schema.String
}) {
  /** Bad input never becomes good by waiting. */
  readonly transient = false
  override get message(): string {
    return `invalid address ${JSON.stringify(this.input)}: ${this.field} ${this.reason}`
  }
}

/**
 * A value from a caller, as an error's `reason` shows it: strings quoted, numbers, booleans,
 * `null` and `undefined` as written, anything else by its type only (an object's getters and
 * `toString` are never run).
 *
 * @since 0.1.0
 * @category formatting
 */
export const shown: (u: unknown) => string = Options.shown

/**
 * Why a caller's `value` is no duration an option can take, as an `InvalidOption`'s `reason`
 * ("must not be negative, got -1"), or undefined when it is one. `infinite`: whether no limit is
 * allowed. Effect's own decoding throws on what it cannot read and takes NaN or -1 as zero.
 *
 * @since 0.1.0
 * @category formatting
 */
export const durationProblem = (value: unknown, infinite: boolean): string | undefined => {
  const decoded = Options.duration(value, infinite)
  return typeof decoded === "string" ? decoded : undefined
}

/**
 * A policy's option is not one it can work with (a backoff's `jitter: "bogus"`, a negative
 * `base`, a deadline of "soon"): which option and why. Found when the policy runs, before any
 * attempt. Its own class rather than `InvalidAddress`: a schedule or a deadline has no address.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOption extends Schema.TaggedError<InvalidOption>()("InvalidOption", {
  option: Schema.String,
  reason: Schema.String
}) {
  /** A bad option never becomes good by waiting. */
  readonly transient = false
  override get message(): string {
    return `invalid option ${this.option}: ${this.reason}`
  }
}

/**
 * What was asked for cannot be done in this process, whatever the input: which feature and why
 * (the native addon did not load, with its load error). Found before any syscall; no kernel said
 * anything, so it is no errno error. Its own class rather than `InvalidOption`: the caller's
 * input is not what is wrong.
 *
 * @since 0.2.0
 * @category errors
 */
export class Unsupported extends Schema.TaggedError<Unsupported>()("Unsupported", {
  feature: Schema.String,
  reason: Schema.String
}) {
  /** What this process lacks does not come by waiting: it takes an install or a build. */
  readonly transient = false
  override get message(): string {
    return `${this.feature} is not available here: ${this.reason}`
  }
}

/**
 * The resolver answered that the name does not exist (NXDOMAIN, or no address of any family).
 *
 * @since 0.1.0
 * @category errors
 */
export class HostNotFound extends Schema.TaggedError<HostNotFound>()("HostNotFound", {
  host: Schema.String
}) {
  /** Permanent by default; a policy can retry it per tag while a name is being registered. */
  readonly transient = false
  override get message(): string {
    return `host ${this.host} not found`
  }
}

/**
 * The resolver could not answer (a server failure or a timeout): the name may exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResolveFailed extends Schema.TaggedError<ResolveFailed>()("ResolveFailed", {
  host: Schema.String,
  code: Schema.String
}) {
  readonly transient = true
  override get message(): string {
    return `could not resolve ${this.host}: ${this.code}`
  }
}

/**
 * Every error class, by tag. `satisfies` makes the compiler check that the table's every tag has
 * its class.
 *
 * @since 0.1.0
 * @category errors
 */
export const classes = {
  ConnectionRefused, TimedOut, ConnectionReset, NetworkUnreachable, HostUnreachable, AddressInUse,
  AddressNotAvailable, TryAgain, PermissionDenied, OperationNotPermitted, AddressFamilyNotSupported,
  WrongProtocolType, AlreadyConnected, AlreadyInProgress, InProgress, Interrupted, BadDescriptor,
  NotASocket, BadAddress, NotFound, NotADirectory, NameTooLong, SymlinkLoop, InvalidArgument,
  TooManyOpenFiles, OutOfResources, ProtocolNotSupported, NotConnected, DestinationRequired, ProtocolNotAvailable,
  NetworkDown, HostDown, ConnectionAborted, OperationNotSupported, ProtocolError, MessageTooLong
} as const satisfies { readonly [T in Errno.Tag]: { readonly fields: { readonly _tag: Schema.tag<T> } } }

/**
 * The error class for a tag, as an instance type.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorOf<T extends Errno.Tag> = InstanceType<(typeof classes)[T]>

/**
 * Any errno error, the raw API's failure type.
 *
 * @since 0.1.0
 * @category unions
 */
export type ErrnoError = ErrorOf<Errno.Tag> | UnknownErrno

/**
 * What a stream connect over IP can fail with at the syscall level.
 *
 * @since 0.1.0
 * @category unions
 */
export type InetError = ErrorOf<Errno.TagsOf<"inet">> | UnknownErrno

/**
 * What a stream connect to an AF_UNIX path or abstract name can fail with at the syscall level.
 *
 * @since 0.1.0
 * @category unions
 */
export type UnixError = ErrorOf<Errno.TagsOf<"unix">> | UnknownErrno

/**
 * What a datagram socket's association and its sends can fail with.
 *
 * @since 0.1.0
 * @category unions
 */
export type DatagramError = ErrorOf<Errno.TagsOf<"datagram">> | UnknownErrno

/**
 * The errors a later attempt may not repeat.
 *
 * @since 0.1.0
 * @category unions
 */
export type TransientConnectError = ErrorOf<Errno.TransientTag> | ResolveFailed

/**
 * The errors no retry can mend.
 *
 * @since 0.1.0
 * @category unions
 */
export type PermanentConnectError =
  | ErrorOf<Exclude<Errno.Tag, Errno.TransientTag>>
  | UnknownErrno
  | InvalidAddress
  | HostNotFound

/**
 * Any error of this module.
 *
 * @since 0.1.0
 * @category unions
 */
export type ConnectError = ErrnoError | InvalidAddress | HostNotFound | ResolveFailed

/**
 * Does this error say a later attempt may succeed? Reads the instance's `transient` flag, which
 * `fromErrno` sets from the table and the context (a local port the caller chose makes
 * EADDRINUSE permanent).
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = <E>(e: E): e is Extract<E, TransientConnectError> =>
  Predicate.hasProperty(e, "transient") && e.transient === true

/**
 * Is this one of this module's errors?
 *
 * @since 0.1.0
 * @category guards
 */
export const isConnectError = (u: unknown): u is ConnectError =>
  Predicate.isTagged(u, "InvalidAddress") || Predicate.isTagged(u, "HostNotFound") ||
  Predicate.isTagged(u, "ResolveFailed") || isErrnoError(u)

/**
 * Is this one of the errno errors (a table row's class or `UnknownErrno`)?
 *
 * @since 0.1.0
 * @category guards
 */
export const isErrnoError = (u: unknown): u is ErrnoError =>
  Predicate.isTagged(u, "UnknownErrno") ||
  (Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && hasOwn(classes, u._tag))

const causeMembers = () => [...Object.values(classes), UnknownErrno, InvalidAddress, InvalidOption, HostNotFound, ResolveFailed]

/**
 * What `fromErrno` needs to know beside the errno.
 *
 * - `kind`: which union the result must belong to; an errno the table says cannot happen for that
 *   kind becomes `UnknownErrno`, so the union stays honest. `raw` allows every row.
 * - `localChosen`: what the caller bound first: `true` for a local address and port, or which of
 *   the two. A chosen port makes EADDRINUSE permanent (without one, bind(2)'s EADDRINUSE means no
 *   ephemeral port was free, which passes); either makes EADDRNOTAVAIL permanent.
 * - `permission`: which EACCES it was, when the caller has found out (e.g. `broadcast` for a
 *   broadcast destination). Otherwise an EACCES over IP is `prohibited` (a route or firewall),
 *   and a unix one is what the diagnosis says, or `unknown`.
 * - `diagnosis`: for a unix path, what a walk of the path found. It decides whether the error is
 *   transient (a missing socket file or directory, a stale socket: yes; a regular file or
 *   directory at the path, a permission, a loop: no), and sets an EACCES's `permission`
 *   (search-denied: `search-prefix`, write-denied: `socket-write`). One that does not explain
 *   the errno (`Errno.explains`: ENOENT with `not-a-directory`, say) is left out: it is about a
 *   path that changed after the connect, and the error is what the kernel said.
 * - `errnoName`: the platform's symbolic name for a number the table lacks (the platform knows
 *   its names; core does not ask it), kept in `UnknownErrno`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrnoContext<K extends Errno.Kind | "raw"> {
  readonly kind: K
  readonly syscall: Syscall
  readonly address: string
  readonly platform: Errno.Platform
  readonly localChosen?: boolean | { readonly host: boolean; readonly port: boolean }
  readonly permission?: PermissionDenied["reason"]
  readonly diagnosis?: PathDiagnosis
  readonly errnoName?: string
}

/**
 * `localChosen` for a connect's `local` option: which of host and port the caller chose (port 0
 * leaves the port to the kernel).
 *
 * @since 0.1.0
 * @category constructors
 */
export const chosenLocal = (
  local: { readonly host?: string | undefined; readonly port?: number | undefined } | undefined
): NonNullable<ErrnoContext<Errno.Kind>["localChosen"]> =>
  local === undefined ? false : { host: local.host !== undefined, port: local.port !== undefined && local.port !== 0 }

/**
 * The error type `fromErrno` returns for a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorForKind<K extends Errno.Kind | "raw"> = K extends Errno.Kind
  ? ErrorOf<Errno.TagsOf<K>> | UnknownErrno
  : ErrnoError

const details = (name: Errno.Name, context: ErrnoContext<Errno.Kind | "raw">, diagnosis: PathDiagnosis | undefined) => {
  switch (Errno.table[name].tag) {
    case "TimedOut":
      return { source: "kernel" as const }
    case "TryAgain":
      return { reason: context.kind === "unix" ? "backlog-full" as const : "ports-exhausted" as const }
    case "PermissionDenied": {
      const family = context.kind === "inet" ? "ip" : context.kind === "unix" ? "unix" : Errno.familyOf(context.address)
      return {
        reason: context.permission ??
          (diagnosis?.problem === "search-denied" ? "search-prefix" as const
          : diagnosis?.problem === "write-denied" ? "socket-write" as const
          : family === "ip" ? "prohibited" as const : "unknown" as const)
      }
    }
    case "TooManyOpenFiles":
      return { scope: name === "ENFILE" ? "system" as const : "process" as const }
    default:
      return {}
  }
}

// An untyped caller's arguments, named in an Error rather than left to the TypeError of a field
// read or to the Schema validation Error of the class built from them. Typeof checks only:
// fromErrno runs on every failed attempt.
const contextProblem = (fn: string, prefix: string, address: unknown, platform: unknown): Error | undefined =>
  typeof address !== "string" ? Options.argument(fn, `${prefix}address`, "a string (Address.format's form)", address)
  : !Errno.isPlatform(platform) ? Options.argument(fn, `${prefix}platform`, "linux, darwin or freebsd", platform)
  : undefined

/**
 * The one mapping from an errno, given by name or by this platform's number, to its error. Any
 * number or string gives an error (`UnknownErrno` for what the table lacks), never a throw. An
 * errno of another type, or a context that is no object or whose `address` is no string,
 * `platform` not one of the table's or `syscall` not one of `Syscall`'s, throws an Error that
 * names it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromErrno = <K extends Errno.Kind | "raw">(
  errno: string | number,
  context: ErrnoContext<K>
): ErrorForKind<K> => {
  if (typeof errno !== "string" && typeof errno !== "number") {
    throw Options.argument("ConnectError.fromErrno", "errno", "an errno name or number", errno)
  }
  if (typeof context !== "object" || context === null) throw Options.argument("ConnectError.fromErrno", "context", "an object", context)
  const invalid = contextProblem("ConnectError.fromErrno", "context.", context.address, context.platform) ??
    (Syscall.literals.includes(context.syscall) ? undefined
    : Options.argument("ConnectError.fromErrno", "context.syscall", Syscall.literals.join(", "), context.syscall))
  if (invalid !== undefined) throw invalid
  const name = typeof errno === "number" ? Errno.nameOf(errno, context.platform) : Errno.isName(errno) ? errno : undefined
  // A diagnosis that does not explain the errno is about another path than the kernel saw (it
  // changed in between): the error stays what the kernel said.
  const diagnosis = name !== undefined && context.diagnosis !== undefined && Errno.explains(name, context.diagnosis.problem)
    ? context.diagnosis
    : undefined
  const fields = {
    syscall: context.syscall,
    address: context.address,
    ...(diagnosis === undefined ? {} : { diagnosis })
  }
  if (name === undefined) {
    return new UnknownErrno({
      ...fields,
      errno: typeof errno === "number" ? context.errnoName ?? String(errno) : String(errno),
      // an errno number is a small whole number; anything else is kept only as the text above
      code: typeof errno === "number" && Number.isSafeInteger(errno) ? errno : -1,
      transient: false
    }) as ErrorForKind<K>
  }
  const row: Errno.Row = Errno.table[name]
  const code = row[context.platform]
  const allowed = context.kind === "raw" || (row.raw !== true && row.kinds.includes(context.kind))
  if (!allowed) {
    return new UnknownErrno({ ...fields, errno: name, code, transient: false }) as ErrorForKind<K>
  }
  const chosen = context.localChosen === true ? { host: true, port: true } : context.localChosen || undefined
  const localPermanent = name === "EADDRINUSE" ? chosen?.port === true
    : name === "EADDRNOTAVAIL" && (chosen?.host === true || chosen?.port === true)
  const transient = diagnosis !== undefined ? Errno.pathProblems[diagnosis.problem].transient : row.transient && !localPermanent
  const Class = classes[row.tag as Errno.Tag] as unknown as new(args: object) => ErrorForKind<K>
  return new Class({ ...fields, ...details(name, context, diagnosis), errno: name, code, transient })
}

/**
 * The same error, re-created with the number of attempts a policy made before giving up with it:
 * same class, tag and fields, so `catchTag` still matches, and the message says "after N
 * attempts". Anything that is not an errno error comes back as it was.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withAttempts = <E>(error: E, attempts: number): E => {
  if (!isErrnoError(error)) return error
  const Class = (error._tag === "UnknownErrno" ? UnknownErrno : classes[error._tag]) as unknown as Constructor<E>
  // A TimedOut's `cause` is the Error's own, which a spread does not copy.
  const cause = hasOwn(error, "cause") ? { cause: (error as { readonly cause?: unknown }).cause } : {}
  return error instanceof Class ? construct(Class, { ...error, ...cause, attempts }) : error
}

type Constructor<E, F = object> = (new(fields: F) => E) & { readonly identifier: string }

const formatIssue = SchemaIssue.makeFormatterDefault()

// Schema's own Error for fields it refuses says only "Schema validation failed": this one names
// the class and what was wrong ("TimedOut (Constructor): Expected ... at ["scope"]").
const construct = <E, F>(Class: Constructor<E, F>, fields: F): E => {
  try {
    return new Class(fields)
  } catch (error) {
    if (error instanceof Error && SchemaIssue.isIssue(error.cause)) {
      throw new Error(`${Class.identifier} (Constructor): ${formatIssue(error.cause)}`, { cause: error.cause })
    }
    throw error
  }
}

/**
 * A unix path (or abstract name) longer than the platform's sun_path, found before the syscall:
 * `limit` is that size in bytes, the terminator included.
 *
 * @since 0.1.0
 * @category constructors
 */
export const nameTooLong = (address: string, limit: number, syscall: Syscall, platform: Errno.Platform): NameTooLong =>
  new NameTooLong({
    errno: "ENAMETOOLONG",
    code: Errno.codeOf("ENAMETOOLONG", platform),
    syscall,
    address,
    transient: false,
    limit
  })

/**
 * What our own timeout knew when it passed: which one (`scope`), how long it waited (`elapsed`, in
 * milliseconds), how many attempts had started, and the last failed attempt's error.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeadlineDetails {
  readonly scope?: "attempt" | "overall"
  readonly elapsed?: number
  readonly attempts?: number
  readonly cause?: unknown
}

/**
 * Our own timeout passed: the same tag as the kernel's ETIMEDOUT, with `source: "deadline"`, and
 * a message that says what actually happened. An `address` that is no string, a `platform` not
 * one of the table's, or `details` that are no object throw an Error that names them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deadline = (address: string, platform: Errno.Platform, details: DeadlineDetails = {}): TimedOut => {
  const problem = contextProblem("ConnectError.deadline", "", address, platform) ??
    (typeof details !== "object" || details === null ? Options.argument("ConnectError.deadline", "details", "an object", details) : undefined)
  if (problem !== undefined) throw problem
  // Every field is checked by the class's schema: in Effect 4 that costs a tenth of the
  // construction (the Error's stack trace is most of it), so nothing is skipped.
  return construct(TimedOut, {
    errno: "ETIMEDOUT",
    code: Errno.codeOf("ETIMEDOUT", platform),
    syscall: "connect",
    address,
    transient: true,
    source: "deadline",
    ...Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined))
  })
}
