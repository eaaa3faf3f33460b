/**
 * The command after `--`, run once the targets are up: its stdio is ours, SIGINT and SIGTERM are
 * passed on to it, and its exit code becomes ours (128 + the signal's number when a signal ended
 * it, as a shell reports it; 127 when it cannot be found, 126 when it cannot be run).
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { constants } from "node:os"

/**
 * How the command ended.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ended {
  readonly exitCode: number
  readonly signal?: string
  /** Why it could not start, when it could not. */
  readonly error?: string
}

/**
 * Runs `argv` and resolves when it has ended. `forward` is called with a function that passes a
 * signal on to the command, for the caller's signal handlers.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>, forward: (send: (signal: NodeJS.Signals) => void) => void): Promise<Ended> =>
  new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit" })
    forward((signal) => void child.kill(signal))
    child.once("error", (e: NodeJS.ErrnoException) =>
      resolve({ exitCode: e.code === "ENOENT" ? 127 : 126, error: `${argv[0]}: ${e.code === "ENOENT" ? "command not found" : e.message}` })
    )
    child.once("exit", (code, signal) =>
      resolve(
        signal === null
          ? { exitCode: code ?? 0 }
          : { exitCode: 128 + (constants.signals[signal] ?? 0), signal }
      )
    )
  })
