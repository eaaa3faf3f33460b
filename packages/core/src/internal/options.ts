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
 * Duration.fromInput reads NaN as zero and negative inputs as negative durations; a sign the
 * caller wrote is a mistake to report, not a duration to use.
 */
export const negative = (u: unknown): boolean =>
  typeof u === "number" ? !(u >= 0)
  : typeof u === "bigint" ? u < 0n
  : typeof u === "string" ? /^\s*-/.test(u)
  : Array.isArray(u) ? u.some(negative)
  : Duration.isDuration(u) ? Duration.isNegative(u)
  : fieldsOf(u)?.some(([, v]) => typeof v === "number" && v < 0) === true

const units: ReadonlySet<PropertyKey> = new Set<keyof Duration.DurationObject>([
  "weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"
])

const getter = Symbol("getter")

// The own fields of an object Effect would read as a Duration.DurationObject, a getter's value
// never asked for; undefined for anything else.
const fieldsOf = (u: unknown): ReadonlyArray<readonly [PropertyKey, unknown]> | undefined =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Duration.isDuration(u)
    ? Reflect.ownKeys(u).map((key) => {
      const field = Object.getOwnPropertyDescriptor(u, key)
      return [key, field !== undefined && "value" in field ? field.value : getter] as const
    })
    : undefined

// Effect reads a key it does not know as nothing and a field that is no number as zero: `{ ms:
// 100 }`, or `{}`, would be no wait at all. Only an object of the units, at least one, each a
// number, is a duration.
const unreadable = (u: unknown): boolean => {
  const fields = fieldsOf(u)
  return fields !== undefined && (fields.length === 0 ||
    fields.some(([key, v]) => !units.has(key) || !(v === undefined || (typeof v === "number" && !Number.isNaN(v)))))
}

/**
 * The duration, or why `value` is not one (Effect's Duration.fromInputUnsafe throws on what it
 * cannot read). `infinite`: whether an infinite duration (no limit) is allowed.
 */
export const duration = (value: unknown, infinite: boolean): Duration.Duration | string => {
  if (typeof value === "number" && Number.isNaN(value)) return "must be a duration, got NaN"
  if (negative(value)) return `must not be negative, got ${shown(value)}`
  const decoded = unreadable(value) ? Option.none() : Duration.fromInput(value as Duration.Input)
  if (Option.isNone(decoded)) {
    return `must be a duration such as "2 seconds" or a number of milliseconds, got ${shown(value)}`
  }
  return infinite || Duration.isFinite(decoded.value) ? decoded.value : `must be finite, got ${shown(value)}`
}
