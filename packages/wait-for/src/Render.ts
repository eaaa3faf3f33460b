/**
 * The events, drawn: one JSON object per line on stdout (`--json`), one live line per target on a
 * terminal, or one line per attempt on stderr; then a summary per target with the whole truth.
 * ANSI only on a terminal and without NO_COLOR.
 *
 * @since 0.1.0
 */
import * as Cli from "./Cli.js"
import type * as Event from "./Event.js"
import * as Failure from "./Failure.js"

/**
 * Where a renderer writes, and what it may write there.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stream {
  readonly write: (text: string) => unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Renderer {
  readonly event: (event: Event.Event) => void
  /** The targets without a result yet. */
  readonly pending: () => ReadonlyArray<string>
  /** Stops the live display's timer, leaving what was drawn. */
  readonly close: () => void
}

/**
 * May ANSI escapes go to this stream?
 *
 * @since 0.1.0
 * @category models
 */
export const ansi = (stream: Stream, env: Record<string, string | undefined>): boolean =>
  stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb"

/**
 * @since 0.1.0
 * @category models
 */
export interface Paint {
  readonly bold: (s: string) => string
  readonly dim: (s: string) => string
  readonly green: (s: string) => string
  readonly red: (s: string) => string
  readonly yellow: (s: string) => string
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`
const plain = (s: string) => s

/**
 * @since 0.1.0
 * @category constructors
 */
export const paint = (on: boolean): Paint =>
  on
    ? { bold: sgr("1"), dim: sgr("2"), green: sgr("32"), red: sgr("31"), yellow: sgr("33") }
    : { bold: plain, dim: plain, green: plain, red: plain, yellow: plain }

const attemptText = (e: Event.Attempt, reverse: boolean) =>
  e.outcome === "down" ? Failure.brief(e.error!) : reverse ? `still up${e.remote === undefined ? "" : ` (${e.remote})`}` : "up"

const attemptsText = (n: number) => `${n} attempt${n === 1 ? "" : "s"}`

/**
 * A target's final line(s): up in how long, or the typed reason with errno, diagnosis, attempts
 * and elapsed time, then the message of the error that says why.
 *
 * @since 0.1.0
 * @category formatting
 */
export const resultLines = (r: Event.Result, p: Paint): ReadonlyArray<string> => {
  const took = `${Cli.formatDuration(r.elapsed)}, ${attemptsText(r.attempts)}`
  switch (r.status) {
    case "up": {
      const detail = r.httpStatus !== undefined ? String(r.httpStatus) : r.remote !== undefined && r.remote !== r.target ? r.remote : undefined
      return [`${p.green("up")}    ${r.target}  in ${took}${detail === undefined ? "" : p.dim(` (${detail})`)}`]
    }
    case "down":
      return [`${p.green("down")}  ${r.target}  after ${took}${r.error === undefined ? "" : p.dim(`: ${Failure.brief(r.error)}`)}`]
    case "cancelled":
      return [`${p.yellow("stop")}  ${r.target}  after ${took}: not waited for any longer, another target failed`]
    case "failed":
    case "timed-out": {
      const error = r.error!
      const why = Failure.root(error)
      const head = r.status === "timed-out"
        ? `timed out after ${Cli.formatDuration(error.elapsed ?? r.elapsed)}, ${attemptsText(error.attempts ?? r.attempts)}` +
          (why === error ? "" : `; last attempt: ${Failure.brief(why)}`)
        : `${Failure.brief(error)}${error.transient === false ? " (permanent)" : ""} after ${took}`
      return [`${p.red("fail")}  ${r.target}  ${head}`, `      ${why.message}`]
    }
  }
}

/**
 * The line printed when a signal ends the wait.
 *
 * @since 0.1.0
 * @category formatting
 */
export const interruptedLine = (s: Event.Event & { readonly event: "summary" }): string =>
  `wait-for: ${s.signal ?? "signal"} after ${Cli.formatDuration(s.elapsed)}; still pending: ${s.pending.join(", ") || "none"}`

interface Line {
  readonly target: string
  attempt: number
  reason: string
  retryAt: number | undefined
  done: ReadonlyArray<string> | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: { readonly json: boolean; readonly quiet: boolean; readonly live: boolean; readonly color: boolean },
  targets: ReadonlyArray<string>,
  out: Stream,
  err: Stream
): Renderer => {
  const pending = new Set(targets)
  const track = (e: Event.Event) => {
    if (e.event === "result") pending.delete(e.target)
  }
  const base = { pending: () => [...pending] }
  if (options.json) {
    return { ...base, event: (e) => (track(e), out.write(JSON.stringify(e) + "\n")), close: () => {} }
  }
  const p = paint(options.color)
  if (options.quiet) {
    return {
      ...base,
      event: (e) => {
        track(e)
        if (e.event === "result" && (e.status === "failed" || e.status === "timed-out")) err.write(resultLines(e, p).join("\n") + "\n")
        if (e.event === "summary" && e.status === "interrupted") err.write(interruptedLine(e) + "\n")
      },
      close: () => {}
    }
  }
  const common = (e: Event.Event): ReadonlyArray<string> => {
    switch (e.event) {
      case "start":
        return [p.dim(`wait-for: ${e.reverse ? "until down" : "waiting for"} ${e.targets.join(", ")}` +
          ` (timeout ${e.timeout === null ? "none" : Cli.formatDuration(e.timeout)})`)]
      case "summary":
        return e.status === "interrupted" ? [interruptedLine(e)] : []
      default:
        return []
    }
  }

  if (!options.live) {
    // One line per attempt, written when the attempt's fate is known: retried (and when), or final.
    const held = new Map<string, string>()
    let reverse = false
    const flush = (target: string, tail: string) => {
      const line = held.get(target)
      held.delete(target)
      if (line !== undefined) err.write(line + tail + "\n")
    }
    return {
      ...base,
      event: (e) => {
        track(e)
        switch (e.event) {
          case "attempt":
            return void held.set(e.target, `${p.yellow("wait")}  ${e.target}  attempt ${e.attempt}: ${attemptText(e, reverse)}`)
          case "retry":
            return flush(e.target, p.dim(`, retry in ${Cli.formatDuration(e.in)}`))
          case "result":
            // The attempt that reached the goal is the result line itself.
            if (e.status === "up" || e.status === "down") held.delete(e.target)
            flush(e.target, "")
            return void err.write(resultLines(e, p).join("\n") + "\n")
          default:
            if (e.event === "start") reverse = e.reverse
            for (const line of common(e)) err.write(line + "\n")
        }
      },
      close: () => {}
    }
  }

  // Live: one line per target, redrawn in place; finished targets keep their summary.
  const lines: Array<Line> = targets.map((target) => ({ target, attempt: 0, reason: "connecting", retryAt: undefined, done: undefined }))
  let drawn = 0
  const width = () => Math.max(20, (err.columns || 100) - 1)
  const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "")
  // Rows are cut to the terminal's width, so that each is one row and the cursor math holds.
  const cut = (s: string) => (visible(s).length > width() ? visible(s).slice(0, width() - 1) + "…" : s)
  const up = () => (drawn > 0 ? `\x1b[${drawn}A\x1b[J` : "")
  const draw = () => {
    const now = Date.now()
    const rows = lines.flatMap((line) =>
      line.done ?? [
        `${p.yellow("wait")}  ${line.target}  ` + (line.attempt === 0 ? "" : `attempt ${line.attempt}: `) + line.reason +
        (line.retryAt === undefined ? "" : p.dim(`, retry in ${Cli.formatDuration(Math.max(0, line.retryAt - now))}`))
      ]
    )
    err.write(up() + rows.map((row) => cut(row) + "\n").join(""))
    drawn = rows.length
  }
  // The end: the live rows give way to the full summaries, uncut.
  const settle = (extra: ReadonlyArray<string>) => {
    err.write(up() + lines.flatMap((line) => line.done ?? []).concat(extra).map((row) => row + "\n").join(""))
    drawn = 0
  }
  let reverse = false
  const timer = setInterval(draw, 100)
  timer.unref()
  const find = (target: string) => lines.find((l) => l.target === target && l.done === undefined)
  return {
    ...base,
    event: (e) => {
      track(e)
      const line = e.event === "attempt" || e.event === "retry" || e.event === "result" ? find(e.target) : undefined
      switch (e.event) {
        case "attempt":
          if (line) {
            line.attempt = e.attempt
            line.reason = attemptText(e, reverse)
            line.retryAt = undefined
          }
          break
        case "retry":
          if (line) line.retryAt = e.time + e.in
          break
        case "result":
          if (line) line.done = resultLines(e, p)
          break
        case "start":
          reverse = e.reverse
          err.write(common(e).join("\n") + "\n")
          break
        case "summary":
          clearInterval(timer)
          return settle(common(e))
        case "command":
          return
      }
      draw()
    },
    close: () => clearInterval(timer)
  }
}
