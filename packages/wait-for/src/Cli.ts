/**
 * The command line, read by a small parser of its own: every mistake is a `UsageError` that names
 * the argument and says what was expected, and nothing is loaded that a run does not need.
 *
 * @since 0.1.0
 */
import * as Target from "./Target.js"

/**
 * Bad input on the command line: exit code 2, with this message.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

/**
 * Everything a run needs, with the defaults filled in. Durations are in milliseconds;
 * `timeout: 0` is no limit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config {
  readonly mode: "wait" | "demo" | "help" | "version"
  readonly targets: ReadonlyArray<Target.Target>
  readonly timeout: number
  readonly attemptTimeout: number
  readonly interval: number
  readonly backoffBase: number
  readonly maxAttempts: number | undefined
  readonly waitDns: boolean
  readonly statuses: Target.StatusSet
  readonly insecure: boolean
  readonly reverse: boolean
  readonly quiet: boolean
  readonly json: boolean
  readonly command: ReadonlyArray<string>
}

/**
 * The defaults: wait 30 s in all, 5 s per attempt, and never more than 250 ms between two
 * attempts, so that a port is noticed within 250 ms of opening.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  timeout: 30_000,
  attemptTimeout: 5_000,
  interval: 250,
  backoffBase: 50,
  statuses: "200-399"
} as const

const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 }

/**
 * A duration as people write it: `30s`, `1.5s`, `500ms`, `2m`, `1m30s`, `1h`; a bare number is
 * seconds (`-t 2`, as wait-for-it reads it). Milliseconds, or `undefined` when it is not one.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (text: string): number | undefined => {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000)
  const part = /(\d+(?:\.\d+)?)\s*(ms|sec|min|s|m|h)/y
  let total = 0
  let at = 0
  while (at < trimmed.length) {
    part.lastIndex = at
    const match = part.exec(trimmed)
    if (match === null) return undefined
    total += Number(match[1]) * units[match[2]!]!
    at = part.lastIndex
  }
  return at === 0 ? undefined : Math.round(total)
}

/**
 * A duration for people: `250ms`, `1.5s`, `2m5s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`
}

interface Spec {
  readonly name: string
  readonly short?: string
  readonly value?: string
}

const specs: ReadonlyArray<Spec> = [
  { name: "timeout", short: "t", value: "duration" },
  { name: "attempt-timeout", value: "duration" },
  { name: "interval", short: "i", value: "duration" },
  { name: "backoff-base", value: "duration" },
  { name: "max-attempts", value: "count" },
  { name: "status", value: "codes" },
  { name: "wait-dns" },
  { name: "insecure" },
  { name: "reverse", short: "r" },
  { name: "quiet", short: "q" },
  { name: "json" },
  { name: "demo" },
  { name: "help", short: "h" },
  { name: "version", short: "V" }
]

const byName = new Map(specs.map((s) => [s.name, s]))
const byShort = new Map(specs.flatMap((s) => (s.short === undefined ? [] : [[s.short, s] as const])))

const duration = (option: string, text: string, allowZero: boolean): number | UsageError => {
  const ms = parseDuration(text)
  if (ms === undefined) {
    return new UsageError(`--${option}: ${JSON.stringify(text)} is not a duration: write it like 30s, 1.5s, 500ms or 2m`)
  }
  if (ms === 0 && !allowZero) return new UsageError(`--${option}: must be longer than 0`)
  return ms
}

/**
 * Reads the arguments after the program name. Options may stand before, between or after the
 * targets; everything after `--` is the command to run once the targets are up.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (argv: ReadonlyArray<string>): Config | UsageError => {
  const values = new Map<string, string>()
  const flags = new Set<string>()
  const inputs: Array<string> = []
  let command: ReadonlyArray<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") {
      command = argv.slice(i + 1)
      if (command.length === 0) return new UsageError("-- must be followed by a command to run once the targets are up")
      break
    }
    if (!arg.startsWith("-") || arg === "-") {
      inputs.push(arg)
      continue
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg)
    const spec = long !== null ? byName.get(long[1]!) : arg.length === 2 ? byShort.get(arg[1]!) : undefined
    if (spec === undefined) {
      return new UsageError(`unknown option ${arg.split("=")[0]}${/^-\d/.test(arg) ? "" : " (see --help)"}`)
    }
    const inline = long?.[2]
    if (spec.value === undefined) {
      if (inline !== undefined) return new UsageError(`--${spec.name} takes no value`)
      flags.add(spec.name)
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      return new UsageError(`--${spec.name} needs a ${spec.value}`)
    }
    values.set(spec.name, value)
  }

  if (flags.has("help")) return { ...base, mode: "help" }
  if (flags.has("version")) return { ...base, mode: "version" }

  const timeout = duration("timeout", values.get("timeout") ?? "30s", true)
  const attemptTimeout = duration("attempt-timeout", values.get("attempt-timeout") ?? "5s", false)
  const interval = duration("interval", values.get("interval") ?? "250ms", false)
  const backoffBase = values.has("backoff-base") ? duration("backoff-base", values.get("backoff-base")!, false) : undefined
  for (const d of [timeout, attemptTimeout, interval, backoffBase]) if (d instanceof UsageError) return d
  const maxText = values.get("max-attempts")
  if (maxText !== undefined && !/^[1-9]\d*$/.test(maxText)) {
    return new UsageError(`--max-attempts: ${JSON.stringify(maxText)} is not a whole number of at least 1`)
  }
  const statuses = Target.parseStatuses(values.get("status") ?? defaults.statuses)
  if (typeof statuses === "string") return new UsageError(`--status: ${statuses}`)

  const demo = flags.has("demo")
  if (demo && inputs.length > 0) return new UsageError(`--demo starts its own listeners and takes no targets (got ${inputs[0]})`)
  if (demo && command.length > 0) return new UsageError("--demo runs no command")
  if (!demo && inputs.length === 0) {
    return new UsageError("no targets given: wait-for tcp://host:port | host:port | unix:///path | http://url ... (--demo for a demo, --help for all)")
  }
  const targets: Array<Target.Target> = []
  for (const input of inputs) {
    const target = Target.parse(input)
    if (typeof target === "string") return new UsageError(target)
    targets.push(target)
  }
  const interval_ = interval as number
  return {
    ...base,
    mode: demo ? "demo" : "wait",
    targets,
    timeout: timeout as number,
    attemptTimeout: attemptTimeout as number,
    interval: interval_,
    backoffBase: Math.min(interval_, (backoffBase as number | undefined) ?? defaults.backoffBase),
    maxAttempts: maxText === undefined ? undefined : Number(maxText),
    waitDns: flags.has("wait-dns"),
    statuses,
    insecure: flags.has("insecure"),
    reverse: flags.has("reverse"),
    quiet: flags.has("quiet"),
    json: flags.has("json"),
    command
  }
}

const base: Config = {
  mode: "wait",
  targets: [],
  timeout: defaults.timeout,
  attemptTimeout: defaults.attemptTimeout,
  interval: defaults.interval,
  backoffBase: defaults.backoffBase,
  maxAttempts: undefined,
  waitDns: false,
  statuses: Target.parseStatuses(defaults.statuses) as Target.StatusSet,
  insecure: false,
  reverse: false,
  quiet: false,
  json: false,
  command: []
}

/**
 * `--help`. Plain text: the caller adds emphasis only where the stream takes ANSI.
 *
 * @since 0.1.0
 * @category help
 */
export const help = (bold: (s: string) => string): string => `${bold("wait-for")}: wait until network endpoints accept connections, then run a command

${bold("Usage")}
  wait-for [options] TARGET... [-- COMMAND [ARGS...]]
  wait-for --demo

${bold("Targets")} (all are waited for at once)
  tcp://HOST:PORT, HOST:PORT   a TCP connect (HOST: a name, an IPv4 or an [IPv6] address)
  unix:///PATH                 a unix stream socket; a failure names the path component at fault
  unix-abstract:NAME           a Linux abstract unix socket
  http://URL, https://URL      a GET; 2xx and 3xx are up (see --status)

${bold("Options")}
  -t, --timeout D          give up after D in all (default 30s; 0: no limit)
      --attempt-timeout D  give up on one attempt after D (default 5s)
  -i, --interval D         wait at most D between attempts (default 250ms)
      --backoff-base D     the first wait; it doubles up to --interval (default 50ms)
      --max-attempts N     give up after N attempts (default: no limit)
      --wait-dns           a host name that does not resolve (yet) is retried, not fatal
      --status CODES       http: the statuses that count as up (default 200-399; e.g. 200,204,300-399)
      --insecure           https: do not verify the server's certificate
  -r, --reverse            wait until the targets stop accepting connections
  -q, --quiet              print nothing but the reason a target failed
      --json               one JSON object per event on stdout (docs/wait-for.md has the schema)
      --demo               run the demo: loopback listeners this process starts itself
  -h, --help               this text
  -V, --version            the version
  D is a duration: 30s, 1.5s, 500ms, 2m, 1m30s (a bare number is seconds).

${bold("Output")}
  Progress and the final reason go to stderr: on a terminal one live line per target, otherwise one
  line per attempt. Only a failure's reason is printed with --quiet. Permanent errors (a regular file
  where a socket should be, a port that cannot be connected to at all) stop that target at once;
  transient ones (refused, not there yet) are retried until --timeout. No colours when the output is
  not a terminal or NO_COLOR is set.

${bold("Exit codes")}
  0    every target is up (with --reverse: down)
  1    a target failed or timed out; the command was not run
  2    usage error: no targets, a bad option or a bad address
  130  interrupted by SIGINT, 143 by SIGTERM (a line names the targets still pending)
  N    with -- COMMAND: the command's own exit code (128+signal if a signal ended it; 127 if it
       was not found). SIGINT and SIGTERM are passed on to the command.

${bold("Examples")}
  wait-for db:5432 -- npm run migrate
  wait-for -t 1m unix:///run/postgresql/.s.PGSQL.5432 http://localhost:8080/health
  wait-for --wait-dns --json redis:6379
`
