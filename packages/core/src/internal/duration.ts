// Durations from users, checked. Effect's Duration.decode throws on what it cannot read and
// quietly turns a negative or NaN number into zero; an option wants to say what was wrong.
import { Duration, Option } from "effect"

const show = (value: unknown): string => {
  if (typeof value === "number" || typeof value === "bigint") return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return typeof value
  }
}

const negative = (value: unknown): boolean =>
  (typeof value === "number" && value < 0) || (typeof value === "bigint" && value < 0n) ||
  (typeof value === "string" && /^\s*-/.test(value)) ||
  (Array.isArray(value) && value.some((n) => typeof n === "number" && n < 0))

/**
 * The duration, or why `value` is not one. `infinite`: whether an infinite duration (no limit)
 * is allowed.
 */
export const decode = (value: unknown, infinite: boolean): Duration.Duration | string => {
  if (typeof value === "number" && Number.isNaN(value)) return "must be a duration, got NaN"
  if (negative(value)) return `must not be negative, got ${show(value)}`
  const decoded = Duration.decodeUnknown(value)
  if (Option.isNone(decoded)) {
    return `must be a duration such as "2 seconds" or a number of milliseconds, got ${show(value)}`
  }
  return infinite || Duration.isFinite(decoded.value) ? decoded.value : `must be finite, got ${show(value)}`
}
