/**
 * What a run reports, as data: the renderers draw it, `--json` prints it one object per line.
 * This schema is the `--json` contract; `docs/wait-for.schema.json` is generated from it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

// Absent, never `undefined`: a field is in the JSON or it is not.
const opt = <S extends Schema.Top>(schema: S) => Schema.optionalKey(schema)

/**
 * An error as `--json` prints it: the library's fields as they were, and for a deadline or a
 * spent retry the last attempt's error as `cause`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ErrorInfo {
  /** The error's tag: `ConnectionRefused`, `TimedOut`, `NotFound`, `HttpStatus`, ... */
  readonly tag: string
  readonly message: string
  readonly errno?: string
  readonly code?: number
  readonly syscall?: string
  readonly address?: string
  readonly transient?: boolean
  /** `TimedOut` only: `kernel` (ETIMEDOUT) or `deadline` (ours). */
  readonly source?: string
  /** A deadline's `TimedOut`: `attempt` (one attempt's timeout) or `overall`. */
  readonly scope?: string
  /** A unix path's failing component and what is wrong with it. */
  readonly diagnosis?: { readonly component: string; readonly problem: string }
  /** `HttpStatus` only. */
  readonly status?: number
  readonly attempts?: number
  /** Milliseconds. */
  readonly elapsed?: number
  readonly cause?: ErrorInfo
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const ErrorInfo: Schema.Codec<ErrorInfo> = Schema.Struct({
  tag: Schema.String,
  message: Schema.String,
  errno: opt(Schema.String),
  code: opt(Schema.Finite),
  syscall: opt(Schema.String),
  address: opt(Schema.String),
  transient: opt(Schema.Boolean),
  source: opt(Schema.String),
  scope: opt(Schema.String),
  diagnosis: opt(Schema.Struct({ component: Schema.String, problem: Schema.String })),
  status: opt(Schema.Finite),
  attempts: opt(Schema.Finite),
  elapsed: opt(Schema.Finite),
  cause: opt(Schema.suspend((): Schema.Codec<ErrorInfo> => ErrorInfo))
}).annotate({ identifier: "ErrorInfo" })

const time = Schema.Finite.annotate({ description: "when, in milliseconds since the epoch" })
const ms = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "milliseconds" })
const count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * The run starts: what it waits for, and how long at most (`timeout: null` for no limit).
 *
 * @since 0.1.0
 * @category events
 */
export const Start = Schema.Struct({
  event: Schema.Literal("start"),
  time,
  targets: Schema.Array(Schema.String),
  timeout: Schema.NullOr(ms),
  reverse: Schema.Boolean
})

/**
 * @since 0.1.0
 * @category models
 */
export type Start = typeof Start.Type

/**
 * One attempt ended: `up` (with the address connected to, and for http the status) or `down`
 * (with the error).
 *
 * @since 0.1.0
 * @category events
 */
export const Attempt = Schema.Struct({
  event: Schema.Literal("attempt"),
  time,
  target: Schema.String,
  attempt: count,
  elapsed: ms,
  outcome: Schema.Literals(["up", "down"]),
  remote: opt(Schema.String),
  httpStatus: opt(Schema.Finite),
  error: opt(ErrorInfo)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Attempt = typeof Attempt.Type

/**
 * The next attempt of a target starts `in` milliseconds.
 *
 * @since 0.1.0
 * @category events
 */
export const Retry = Schema.Struct({
  event: Schema.Literal("retry"),
  time,
  target: Schema.String,
  attempt: count,
  in: ms
})

/**
 * @since 0.1.0
 * @category models
 */
export type Retry = typeof Retry.Type

/**
 * The status a target ended in.
 *
 * @since 0.1.0
 * @category models
 */
export const Status = Schema.Literals(["up", "down", "failed", "timed-out", "cancelled"])

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * A target is done: `up` / `down` (the goal reached), `failed` (a permanent error, or the attempts
 * are spent), `timed-out` (the deadline passed; `error.cause` is the last attempt's error) or
 * `cancelled` (another target failed, so the run's outcome was known).
 *
 * @since 0.1.0
 * @category events
 */
export const Result = Schema.Struct({
  event: Schema.Literal("result"),
  time,
  target: Schema.String,
  status: Status,
  elapsed: ms,
  attempts: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  remote: opt(Schema.String),
  httpStatus: opt(Schema.Finite),
  error: opt(ErrorInfo)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Result = typeof Result.Type

/**
 * The wait is over: `ok` (exit 0, or the command runs next), `failed` (exit 1) or `interrupted`
 * by a signal (exit 130 or 143), with the targets still pending.
 *
 * @since 0.1.0
 * @category events
 */
export const Summary = Schema.Struct({
  event: Schema.Literal("summary"),
  time,
  status: Schema.Literals(["ok", "failed", "interrupted"]),
  exitCode: Schema.Int,
  elapsed: ms,
  up: Schema.Array(Schema.String),
  failed: Schema.Array(Schema.String),
  pending: Schema.Array(Schema.String),
  signal: opt(Schema.Literals(["SIGINT", "SIGTERM"]))
})

/**
 * @since 0.1.0
 * @category models
 */
export type Summary = typeof Summary.Type

/**
 * The command after `--` ended, with its exit code (and the signal that ended it, if one did).
 *
 * @since 0.1.0
 * @category events
 */
export const Command = Schema.Struct({
  event: Schema.Literal("command"),
  time,
  argv: Schema.Array(Schema.String),
  exitCode: Schema.Int,
  signal: opt(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Command = typeof Command.Type

/**
 * Any event.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Event = Schema.Union([Start, Attempt, Retry, Result, Summary, Command]).annotate({
  identifier: "WaitForEvent",
  description: "one line of `wait-for --json`"
})

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type
