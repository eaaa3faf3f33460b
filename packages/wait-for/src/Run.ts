/**
 * A run, from the parsed command line to the exit code: the wait with its renderer, signals, and
 * the command after `--`.
 *
 * @since 0.1.0
 */
import { Connector } from "@effect-connect/core"
import { NodeConnector } from "@effect-connect/native"
import { UnixConnector } from "@effect-connect/unix"
import { Cause, Effect, Exit, Fiber, Layer } from "effect"
import * as Cli from "./Cli.js"
import * as Command from "./Command.js"
import type * as Event from "./Event.js"
import * as Render from "./Render.js"
import * as Wait from "./Wait.js"

/**
 * Where a run writes.
 *
 * @since 0.1.0
 * @category models
 */
export interface Io {
  readonly stdout: Render.Stream
  readonly stderr: Render.Stream
  readonly env: Record<string, string | undefined>
}

/**
 * The signals wait-for handles, with the exit code each one ends a wait with.
 *
 * @since 0.1.0
 * @category signals
 */
export const signals = { SIGINT: 130, SIGTERM: 143 } as const

/**
 * @since 0.1.0
 * @category signals
 */
export type Signal = keyof typeof signals

// What a signal does now: end the wait, or be passed on to the command.
let onSignal: ((signal: Signal) => void) | undefined

/**
 * Called by the process's signal handlers. A second signal, or one with nothing to interrupt,
 * ends the process at once.
 *
 * @since 0.1.0
 * @category signals
 */
export const handleSignal = (signal: Signal): void => {
  if (onSignal === undefined) process.exit(signals[signal])
  onSignal(signal)
}

/**
 * The connector a wait uses unless told otherwise: NodeConnector (on `node:net`, no addon, so the
 * bundle runs wherever Node does) with unix path errors diagnosed and paths longer than sun_path
 * reached through their directory.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = Layer.effect(
  Connector.Connector,
  UnixConnector.make({ longPaths: "via-directory" })
).pipe(Layer.provide(NodeConnector.layer))

/**
 * A wait's outcome: the exit code and each target's result.
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly exitCode: number
  readonly results: ReadonlyArray<Wait.Result>
}

/**
 * Waits for `config.targets` and reports as `config` says; a signal ends it with 130 or 143.
 *
 * @since 0.1.0
 * @category running
 */
export const wait = async (
  config: Cli.Config,
  io: Io,
  connector: Layer.Layer<Connector.Connector> = layer
): Promise<Outcome> => {
  const color = Render.ansi(io.stderr, io.env)
  const inputs = config.targets.map((t) => t.input)
  const renderer = Render.make({ json: config.json, quiet: config.quiet, live: color, color }, inputs, io.stdout, io.stderr)
  const started = Date.now()
  renderer.event({ event: "start", time: started, targets: inputs, timeout: config.timeout === 0 ? null : config.timeout, reverse: config.reverse })
  const fiber = Effect.runFork(Wait.run(config.targets, config, renderer.event).pipe(Effect.provide(connector)))
  const summary = (status: "ok" | "failed" | "interrupted", exitCode: number, results: ReadonlyArray<Wait.Result>, signal?: Signal) =>
    renderer.event({
      event: "summary",
      time: Date.now(),
      status,
      exitCode,
      elapsed: Date.now() - started,
      up: results.filter((r) => r.status === "up" || r.status === "down").map((r) => r.target),
      failed: results.filter((r) => r.status === "failed" || r.status === "timed-out").map((r) => r.target),
      pending: renderer.pending(),
      ...(signal === undefined ? {} : { signal })
    })
  const interrupted = new Promise<Outcome>((resolve) => {
    onSignal = (signal) => {
      onSignal = undefined
      const code = signals[signal]
      summary("interrupted", code, [], signal)
      renderer.close()
      // Interrupting closes every socket a target holds; a stuck finalizer does not hold the exit.
      const done = () => resolve({ exitCode: code, results: [] })
      setTimeout(done, 500).unref()
      Effect.runPromise(Fiber.interrupt(fiber)).then(done, done)
    }
  })
  const finished = Effect.runPromise(Fiber.await(fiber)).then((exit): Outcome | undefined => {
    if (onSignal === undefined) return undefined
    onSignal = undefined
    // The wait never fails: anything else is a bug, said as such.
    if (Exit.isFailure(exit)) io.stderr.write(`wait-for: internal error: ${Cause.pretty(exit.cause)}\n`)
    const results = Exit.isSuccess(exit) ? exit.value : []
    const exitCode = Exit.isSuccess(exit) ? Wait.exitCode(results) : 1
    summary(exitCode === 0 ? "ok" : "failed", exitCode, results)
    renderer.close()
    return { exitCode, results }
  })
  return (await Promise.race([finished, interrupted])) ?? (await interrupted)
}

/**
 * Waits, then runs the command after `--` when every target reached its goal.
 *
 * @since 0.1.0
 * @category running
 */
export const waitThenRun = async (config: Cli.Config, io: Io): Promise<number> => {
  const outcome = await wait(config, io)
  if (outcome.exitCode !== 0 || config.command.length === 0) return outcome.exitCode
  let send: ((signal: Signal) => void) | undefined
  onSignal = (signal) => send?.(signal)
  const ended = await Command.run(config.command, (f) => (send = f))
  onSignal = undefined
  if (ended.error !== undefined) io.stderr.write(`wait-for: ${ended.error}\n`)
  if (config.json) {
    const event: Event.Command = {
      event: "command",
      time: Date.now(),
      argv: config.command,
      exitCode: ended.exitCode,
      ...(ended.signal === undefined ? {} : { signal: ended.signal })
    }
    io.stdout.write(JSON.stringify(event) + "\n")
  }
  return ended.exitCode
}

/**
 * Runs the command line; resolves with the exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const main = async (argv: ReadonlyArray<string>, io: Io): Promise<number> => {
  const config = Cli.parse(argv)
  if (config instanceof Cli.UsageError) {
    io.stderr.write(`wait-for: ${config.message}\n`)
    return 2
  }
  switch (config.mode) {
    case "help":
      io.stdout.write(Cli.help(Render.paint(Render.ansi(io.stdout, io.env)).bold))
      return 0
    case "version":
      io.stdout.write("wait-for 0.2.0\n")
      return 0
    case "demo": {
      const Demo = await import("./Demo.js")
      return Demo.run(io, config)
    }
    case "wait":
      return waitThenRun(config, io)
  }
}
