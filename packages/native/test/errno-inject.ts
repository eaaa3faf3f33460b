// errno-inject (native/errno_inject.c: one syscall always fails with a chosen errno, by seccomp)
// is a test tool, not part of the package: compiled here with the system's cc into build/test/ on
// first use and again when the source is newer, never at a user's install.
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs"
import { delimiter, join } from "node:path"
import { fileURLToPath } from "node:url"

const source = fileURLToPath(new URL("../native/errno_inject.c", import.meta.url))
const binary = fileURLToPath(new URL("../build/test/errno-inject", import.meta.url))

const hasCc = (process.env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && existsSync(join(dir, "cc")))

/** Why errno-inject cannot run here, for a skipped test's name; undefined when it can. */
export const errnoInjectMissing: string | undefined = process.platform !== "linux"
  ? "errno-inject needs Linux"
  : hasCc
  ? undefined
  : "errno-inject needs a C compiler (cc)"

const build = (): string => {
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(join(binary, ".."), { recursive: true })
    // Test files run in parallel processes: each compiles to its own name, the rename is atomic.
    const own = `${binary}.${process.pid}`
    execFileSync("cc", ["-std=c11", "-O2", "-Wall", "-Wextra", "-o", own, source], { stdio: "inherit" })
    renameSync(own, binary)
  }
  return binary
}

/** The compiled errno-inject, or undefined where {@link errnoInjectMissing} says why not. */
export const errnoInject: string | undefined = errnoInjectMissing === undefined ? build() : undefined
