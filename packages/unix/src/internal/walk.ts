// The walk behind a unix path error: each directory on the way, then the socket file, checked
// as this process sees them (access(2) uses the same ids as connect(2) for a normal process).
import type { ConnectError } from "@effect-connect/core"
import { constants } from "node:fs"
import { access, stat } from "node:fs/promises"
import { join, parse, resolve } from "node:path"

const codeOf = (e: unknown): string | undefined => (e as { code?: string }).code

const directoryProblem = async (dir: string): Promise<ConnectError.PathProblem | undefined> => {
  try {
    if (!(await stat(dir)).isDirectory()) return "not-a-directory"
  } catch (e) {
    const code = codeOf(e)
    return code === "ENOENT" ? "missing-directory" : code === "ELOOP" ? "symlink-loop" : code === "ENOTDIR" ? "not-a-directory" : undefined
  }
  return access(dir, constants.X_OK).then(() => undefined, () => "search-denied" as const)
}

const socketProblem = async (file: string, errno: string): Promise<ConnectError.PathProblem | undefined> => {
  try {
    if (!(await stat(file)).isSocket()) return "not-a-socket"
  } catch (e) {
    const code = codeOf(e)
    return code === "ENOENT" ? "missing-socket" : code === "ELOOP" ? "symlink-loop" : undefined
  }
  if (await access(file, constants.W_OK).then(() => false, () => true)) return "write-denied"
  return errno === "ECONNREFUSED" ? "stale-socket" : undefined
}

/**
 * Where on `path` a connect that failed with `errno` went wrong: the first directory that is
 * missing, not a directory, a symlink loop or not searchable, else what is wrong with the socket
 * file itself. Undefined when the walk finds nothing (the path changed since, say).
 */
export const walk = async (path: string, errno: string): Promise<ConnectError.PathDiagnosis | undefined> => {
  const full = resolve(path)
  const { root } = parse(full)
  const names = full.slice(root.length).split(/[\\/]/).filter((n) => n.length > 0)
  let dir = root
  for (const [i, name] of names.entries()) {
    const problem = await directoryProblem(dir)
    if (problem !== undefined) return { component: dir, problem }
    if (i === names.length - 1) break
    dir = join(dir, name)
  }
  const problem = await socketProblem(full, errno)
  return problem === undefined ? undefined : { component: full, problem }
}
