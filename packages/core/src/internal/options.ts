// Option values from callers, checked as plain functions. Options come from configuration as
// often as from code: what is wrong is said, never thrown, and a caller's object is never asked
// for its getters or toString.
import { Duration, Option } from "effect"

/** An option's value in an error. */
export const shown = (u: unknown): string =>
  typeof u === "string" ? JSON.stringify(u)
  : typeof u === "number" || typeof u === "bigint" || typeof u === "boolean" || u === undefined || u === null ? String(u)
  : typeof u

/**
 * What a plain (non-Effect) function throws for an argument its type rules out: an Error that
 * names the function and the argument, never the TypeError of the first property read.
 */
export const argument = (fn: string, name: string, expected: string, got: unknown): Error =>
  new Error(`${fn}: ${name} must be ${expected}, got ${shown(got)}`)

/**
 * Duration.decode reads NaN and negative inputs as zero; a sign the caller wrote is a mistake to
 * report, not a zero to use.
 */
export const negative = (u: unknown): boolean =>
  typeof u === "number" ? !(u >= 0)
  : typeof u === "bigint" ? u < 0n
  : typeof u === "string" ? /^\s*-/.test(u)
  : Array.isArray(u) && u.some(negative)

/**
 * The duration, or why `value` is not one (Effect's Duration.decode throws on what it cannot
 * read). `infinite`: whether an infinite duration (no limit) is allowed.
 */
export const duration = (value: unknown, infinite: boolean): Duration.Duration | string => {
  if (typeof value === "number" && Number.isNaN(value)) return "must be a duration, got NaN"
  if (negative(value)) return `must not be negative, got ${shown(value)}`
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) {
    return `must be a duration such as "2 seconds" or a number of milliseconds, got ${shown(value)}`
  }
  return infinite || Duration.isFinite(decoded.value) ? decoded.value : `must be finite, got ${shown(value)}`
}
