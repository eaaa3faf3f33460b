/**
 * The truth a failed wait carries, read off the library's errors: the tag, the errno, a unix
 * path's diagnosis, and for a deadline or a spent retry the attempts, the time and the last
 * attempt's own error (`cause`). Read by field name: the error of an http attempt or of a
 * `--reverse` wait is not a `ConnectError`, and a cause is `unknown` to the type system.
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"
import type { ErrorInfo } from "./Event.js"

const text = (u: object, key: string): string | undefined => {
  const v = (u as Record<string, unknown>)[key]
  return typeof v === "string" ? v : undefined
}
const number = (u: object, key: string): number | undefined => {
  const v = (u as Record<string, unknown>)[key]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

/**
 * Any error, as data.
 *
 * @since 0.1.0
 * @category constructors
 */
export const info = (error: unknown): ErrorInfo => {
  if (!Predicate.isObject(error)) return { tag: "Unknown", message: String(error) }
  const e = error as object
  const diagnosis = (e as { diagnosis?: unknown }).diagnosis
  const cause = (e as { cause?: unknown }).cause
  const out: { -readonly [K in keyof ErrorInfo]: ErrorInfo[K] } = {
    tag: text(e, "_tag") ?? (e instanceof Error ? e.name : "Unknown"),
    message: text(e, "message") ?? (e instanceof Error ? e.message : String(e))
  }
  const copy = <K extends "errno" | "syscall" | "address" | "source" | "scope">(key: K) => {
    const v = text(e, key)
    if (v !== undefined) out[key] = v
  }
  copy("errno")
  const code = number(e, "code")
  if (code !== undefined) out.code = code
  copy("syscall")
  copy("address")
  const transient = (e as { transient?: unknown }).transient
  if (typeof transient === "boolean") out.transient = transient
  copy("source")
  copy("scope")
  if (Predicate.isObject(diagnosis) && typeof (diagnosis as { component?: unknown }).component === "string") {
    const d = diagnosis as { component: string; problem: unknown }
    out.diagnosis = { component: d.component, problem: String(d.problem) }
  }
  const status = number(e, "status")
  if (status !== undefined) out.status = status
  const attempts = number(e, "attempts")
  if (attempts !== undefined) out.attempts = attempts
  const elapsed = number(e, "elapsed")
  if (elapsed !== undefined) out.elapsed = Math.round(elapsed)
  if (Predicate.hasProperty(cause, "_tag")) out.cause = info(cause)
  return out
}

/**
 * The error that says why: the last attempt's for a deadline, the error itself otherwise.
 *
 * @since 0.1.0
 * @category getters
 */
export const root = (e: ErrorInfo): ErrorInfo => e.cause === undefined ? e : root(e.cause)

/**
 * `ConnectionRefused ECONNREFUSED` / `NotFound ENOENT at /run/app (missing-directory)`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const brief = (e: ErrorInfo): string =>
  [
    e.tag,
    e.errno,
    e.status === undefined ? undefined : String(e.status),
    e.diagnosis === undefined ? undefined : `at ${e.diagnosis.component} (${e.diagnosis.problem})`
  ].filter((s) => s !== undefined).join(" ")
