#!/usr/bin/env node
/**
 * wait-for: blocks until every target accepts connections (or, with `--reverse`, stops), retrying
 * only transient errors, says exactly why it gave up, and then runs the command after `--`.
 * `wait-for --help` says the rest; `wait-for --demo` shows it against listeners of its own.
 *
 * @since 0.1.0
 */
import { handleSignal, main } from "./Run.js"

process.on("SIGINT", () => handleSignal("SIGINT"))
process.on("SIGTERM", () => handleSignal("SIGTERM"))

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`wait-for: internal error: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(70)
  }
)
