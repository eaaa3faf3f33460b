// The walk behind a unix path error: each directory on the way, then the socket file, checked
// as this process sees them (access(2) uses the same ids as connect(2) for a normal process).
import type { ConnectError } from "@effect-connect/core"
import { constants } from "node:fs"
import { access, stat } from "node:fs/promises"

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
 *
 * The path is walked as the kernel walks it: each prefix is the path as given, cut after a
 * component, and is looked up by the kernel, so a symlink is followed before the `..` after it
 * (`/a/link/../x` with `link -> /b/c` is `/b/x`). Nothing is folded by text (as `path.resolve`
 * would fold it to `/a/x`), and a relative path stays relative to the working directory. A
 * component in the diagnosis is such a prefix, as given.
 */
export const walk = async (path: string, errno: string): Promise<ConnectError.PathDiagnosis | undefined> => {
  const absolute = path.startsWith("/")
  const names = path.split("/").filter((n) => n.length > 0)
  const prefix = (count: number) => {
    const text = names.slice(0, count).join("/")
    return absolute ? `/${text}` : text === "" ? "." : text
  }
  for (let i = 0; i < names.length; i++) {
    const dir = prefix(i)
    const problem = await directoryProblem(dir)
    if (problem !== undefined) return { component: dir, problem }
  }
  const problem = await socketProblem(path, errno)
  return problem === undefined ? undefined : { component: path, problem }
}
