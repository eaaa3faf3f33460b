/**
 * One tagged error class per row of the errno table, the unions that say which of them a connect
 * can fail with, and `fromErrno`, the one function that turns an errno into its error.
 *
 * @since 0.1.0
 */
import { Predicate, Schema } from "effect"
import * as Errno from "./Errno.js"

/**
 * The syscall that failed. `deadline` is not a syscall: it marks our own timeout.
 *
 * @since 0.1.0
 * @category models
 */
export const Syscall = Schema.Literal(
  "socket", "setsockopt", "bind", "connect", "getsockopt", "getsockname", "getpeername", "send", "recv", "poll", "open"
)

/**
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
export const PathProblem = Schema.Literal(
  "missing-directory", "missing-socket", "not-a-directory", "search-denied", "write-denied", "not-a-socket",
  "stale-socket", "symlink-loop"
)

/**
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
 * @since 0.1.0
 * @category models
 */
export type PathDiagnosis = typeof PathDiagnosis.Type

const problems: { readonly [P in PathProblem]: string } = {
  "missing-directory": "this directory does not exist",
  "missing-socket": "no socket file here: the directory exists, the server has not created it (yet)",
  "not-a-directory": "this is not a directory",
  "search-denied": "no search (x) permission on this directory",
  "write-denied": "no write permission on this socket file",
  "not-a-socket": "this is not a socket file",
  "stale-socket": "a socket file nothing listens on (a server left it behind)",
  "symlink-loop": "symbolic links loop here"
}

const commonFields = {
  code: Schema.Number,
  syscall: Syscall,
  address: Schema.String,
  transient: Schema.Boolean,
  /** For a unix path, where on the path it failed and why, when the path was walked. */
  diagnosis: Schema.optional(PathDiagnosis)
}

type ErrnoFields<T extends Errno.Tag> = {
  readonly errno: Schema.Literal<[Errno.NamesOf<T>]>
} & typeof commonFields

const describe = (
  e: { errno: string; syscall: string; address: string; diagnosis?: PathDiagnosis | undefined },
  extra?: string
): string => {
  const row = Errno.isName(e.errno) ? Errno.table[e.errno] : undefined
  const head = `${e.syscall} ${e.address || "(no address)"} failed with ${e.errno}`
  // A diagnosis says exactly what happened, in place of the table's general meaning and hint.
  if (e.diagnosis !== undefined) {
    return `${head}${extra ? `, ${extra}` : ""}: ${e.diagnosis.component}: ${problems[e.diagnosis.problem]}`
  }
  const what = row ? `: ${row.meaning}` : ""
  const hint = row && "hint" in row ? ` (${row.hint})` : ""
  return `${head}${what}${extra ? `, ${extra}` : ""}${hint}`
}

// Each class is one line below: its tag, errno literals, message and transient default all come
// from the table. The message is a getter, so it is derived from the fields and never stored.
const ErrnoError = <Self>() =>
<T extends Errno.Tag, Extra extends Schema.Struct.Fields = {}>(
  tag: T,
  extra?: Extra,
  detail?: (self: Schema.Struct.Type<Extra>) => string | undefined
): Schema.TaggedErrorClass<Self, T, { readonly _tag: Schema.tag<T> } & ErrnoFields<T> & Extra> => {
  const errnos = Errno.namesOf(tag) as unknown as [Errno.NamesOf<T>]
  const cls = Schema.TaggedError<Self>()(tag, { errno: Schema.Literal(...errnos), ...commonFields, ...extra })
  Object.defineProperty((cls as unknown as { prototype: object }).prototype, "message", {
    get(this: { errno: string; syscall: string; address: string; diagnosis?: PathDiagnosis } & Schema.Struct.Type<Extra>) {
      return describe(this, detail?.(this))
    },
    enumerable: false,
    configurable: true
  })
  return cls as unknown as Schema.TaggedErrorClass<Self, T, { readonly _tag: Schema.tag<T> } & ErrnoFields<T> & Extra>
}

/** @since 0.1.0 @category errors */
export class ConnectionRefused extends ErrnoError<ConnectionRefused>()("ConnectionRefused") {}
/**
 * `source: "kernel"` when the kernel gave up (ETIMEDOUT), `"deadline"` when our own timeout did.
 *
 * @since 0.1.0
 * @category errors
 */
export class TimedOut extends ErrnoError<TimedOut>()(
  "TimedOut",
  { source: Schema.Literal("kernel", "deadline") },
  (e) => e.source === "deadline" ? "the caller's deadline passed first" : "the kernel gave up"
) {}
/** @since 0.1.0 @category errors */
export class ConnectionReset extends ErrnoError<ConnectionReset>()("ConnectionReset") {}
/** @since 0.1.0 @category errors */
export class NetworkUnreachable extends ErrnoError<NetworkUnreachable>()("NetworkUnreachable") {}
/** @since 0.1.0 @category errors */
export class HostUnreachable extends ErrnoError<HostUnreachable>()("HostUnreachable") {}
/** @since 0.1.0 @category errors */
export class AddressInUse extends ErrnoError<AddressInUse>()("AddressInUse") {}
/** @since 0.1.0 @category errors */
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
  { reason: Schema.Literal("ports-exhausted", "backlog-full") },
  (e) => e.reason
) {}
/**
 * `reason` says which of the manual page's EACCES causes it was, where that is known.
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied extends ErrnoError<PermissionDenied>()(
  "PermissionDenied",
  { reason: Schema.Literal("broadcast", "search-prefix", "socket-write", "unknown") },
  (e) => e.reason === "unknown" ? undefined : e.reason
) {}
/** @since 0.1.0 @category errors */
export class OperationNotPermitted extends ErrnoError<OperationNotPermitted>()("OperationNotPermitted") {}
/** @since 0.1.0 @category errors */
export class AddressFamilyNotSupported
  extends ErrnoError<AddressFamilyNotSupported>()("AddressFamilyNotSupported")
{}
/** @since 0.1.0 @category errors */
export class WrongProtocolType extends ErrnoError<WrongProtocolType>()("WrongProtocolType") {}
/** @since 0.1.0 @category errors */
export class AlreadyConnected extends ErrnoError<AlreadyConnected>()("AlreadyConnected") {}
/** @since 0.1.0 @category errors */
export class AlreadyInProgress extends ErrnoError<AlreadyInProgress>()("AlreadyInProgress") {}
/** @since 0.1.0 @category errors */
export class InProgress extends ErrnoError<InProgress>()("InProgress") {}
/** @since 0.1.0 @category errors */
export class Interrupted extends ErrnoError<Interrupted>()("Interrupted") {}
/** @since 0.1.0 @category errors */
export class BadDescriptor extends ErrnoError<BadDescriptor>()("BadDescriptor") {}
/** @since 0.1.0 @category errors */
export class NotASocket extends ErrnoError<NotASocket>()("NotASocket") {}
/** @since 0.1.0 @category errors */
export class BadAddress extends ErrnoError<BadAddress>()("BadAddress") {}
/** @since 0.1.0 @category errors */
export class NotFound extends ErrnoError<NotFound>()("NotFound") {}
/** @since 0.1.0 @category errors */
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
/** @since 0.1.0 @category errors */
export class SymlinkLoop extends ErrnoError<SymlinkLoop>()("SymlinkLoop") {}
/** @since 0.1.0 @category errors */
export class InvalidArgument extends ErrnoError<InvalidArgument>()("InvalidArgument") {}
/**
 * `scope`: EMFILE is the process's limit, ENFILE the system's.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyOpenFiles extends ErrnoError<TooManyOpenFiles>()(
  "TooManyOpenFiles",
  { scope: Schema.Literal("process", "system") }
) {}
/** @since 0.1.0 @category errors */
export class OutOfResources extends ErrnoError<OutOfResources>()("OutOfResources") {}
/** @since 0.1.0 @category errors */
export class ProtocolNotSupported extends ErrnoError<ProtocolNotSupported>()("ProtocolNotSupported") {}
/** @since 0.1.0 @category errors */
export class NotConnected extends ErrnoError<NotConnected>()("NotConnected") {}
/** @since 0.1.0 @category errors */
export class DestinationRequired extends ErrnoError<DestinationRequired>()("DestinationRequired") {}

/**
 * An errno the table does not know, or one the kernel returned where the table says it cannot
 * happen: the name and number are kept, so nothing is lost.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownErrno extends Schema.TaggedError<UnknownErrno>()("UnknownErrno", {
  errno: Schema.String,
  ...commonFields
}) {
  override get message(): string {
    return describe(this, `errno ${this.code}`)
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
  field: Schema.Literal("scheme", "host", "port", "path", "name", "family", "option"),
  reason: Schema.String
}) {
  /** Bad input never becomes good by waiting. */
  readonly transient = false
  override get message(): string {
    return `invalid address ${JSON.stringify(this.input)}: ${this.field} ${this.reason}`
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
  TooManyOpenFiles, OutOfResources, ProtocolNotSupported, NotConnected, DestinationRequired
} as const satisfies { readonly [T in Errno.Tag]: { readonly _tag: T } }

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
  Predicate.isTagged(u, "UnknownErrno") || Predicate.isTagged(u, "InvalidAddress") ||
  Predicate.isTagged(u, "HostNotFound") || Predicate.isTagged(u, "ResolveFailed") ||
  (Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && u._tag in classes)

/**
 * What `fromErrno` needs to know beside the errno.
 *
 * - `kind`: which union the result must belong to; an errno the table says cannot happen for that
 *   kind becomes `UnknownErrno`, so the union stays honest. `raw` allows every row.
 * - `localChosen`: the caller bound a local address or port, which makes EADDRINUSE and
 *   EADDRNOTAVAIL permanent.
 * - `permission`: which EACCES it was, when the caller has found out (e.g. by walking a path).
 * - `diagnosis`: for a unix path, what a walk of the path found; it also sets an EACCES's
 *   `permission` (search-denied: `search-prefix`, write-denied: `socket-write`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrnoContext<K extends Errno.Kind | "raw"> {
  readonly kind: K
  readonly syscall: Syscall
  readonly address: string
  readonly platform: Errno.Platform
  readonly localChosen?: boolean
  readonly permission?: PermissionDenied["reason"]
  readonly diagnosis?: PathDiagnosis
}

/**
 * The error type `fromErrno` returns for a kind.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorForKind<K extends Errno.Kind | "raw"> = K extends Errno.Kind
  ? ErrorOf<Errno.TagsOf<K>> | UnknownErrno
  : ErrnoError

const details = (name: Errno.Name, context: ErrnoContext<Errno.Kind | "raw">) => {
  switch (Errno.table[name].tag) {
    case "TimedOut":
      return { source: "kernel" as const }
    case "TryAgain":
      return { reason: context.kind === "unix" ? "backlog-full" as const : "ports-exhausted" as const }
    case "PermissionDenied":
      return {
        reason: context.permission ??
          (context.diagnosis?.problem === "search-denied" ? "search-prefix" as const
          : context.diagnosis?.problem === "write-denied" ? "socket-write" as const
          : context.kind === "datagram" ? "broadcast" as const : "unknown" as const)
      }
    case "TooManyOpenFiles":
      return { scope: name === "ENFILE" ? "system" as const : "process" as const }
    default:
      return {}
  }
}

/**
 * The one mapping from an errno, given by name or by this platform's number, to its error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromErrno = <K extends Errno.Kind | "raw">(
  errno: string | number,
  context: ErrnoContext<K>
): ErrorForKind<K> => {
  const name = typeof errno === "number" ? Errno.nameOf(errno, context.platform) : Errno.isName(errno) ? errno : undefined
  const fields = {
    syscall: context.syscall,
    address: context.address,
    ...(context.diagnosis === undefined ? {} : { diagnosis: context.diagnosis })
  }
  if (name === undefined) {
    return new UnknownErrno({ ...fields, errno: String(errno), code: typeof errno === "number" ? errno : -1, transient: false }) as ErrorForKind<K>
  }
  const row: Errno.Row = Errno.table[name]
  const code = row[context.platform]
  const allowed = context.kind === "raw" || (row.raw !== true && row.kinds.includes(context.kind))
  if (!allowed) {
    return new UnknownErrno({ ...fields, errno: name, code, transient: false }) as ErrorForKind<K>
  }
  const localPermanent = context.localChosen === true && (name === "EADDRINUSE" || name === "EADDRNOTAVAIL")
  const Class = classes[row.tag as Errno.Tag] as unknown as new(args: object) => ErrorForKind<K>
  return new Class({ ...fields, ...details(name, context), errno: name, code, transient: row.transient && !localPermanent })
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
 * Our own deadline passed: the same tag as the kernel's ETIMEDOUT, with `source: "deadline"`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const deadline = (address: string, platform: Errno.Platform): TimedOut =>
  new TimedOut({
    errno: "ETIMEDOUT",
    code: Errno.codeOf("ETIMEDOUT", platform),
    syscall: "connect",
    address,
    transient: true,
    source: "deadline"
  })
