// The walk behind a unix path error: each directory on the way, then the socket file, checked
// in the kernel's order with the ids the kernel's connect(2) uses, and kept only when what it
// found explains the errno.
//
// Synchronous, as the connect(2) it follows: the kernel has just resolved the same path on the
// event loop, and these are the same lookups again (the loop's time is counted in the connects'
// turns, see packages/native). An await here would let a deadline interrupt the connect between
// its failure and its diagnosis, and the deadline would report the error undiagnosed.
//
// The path can change between the connect and the walk, and between the walk's own steps (a
// server that removes and re-creates its socket). So every step is one lookup whose answer is
// final for that step (the socket file's type and mode come from the same stat), a lookup that
// fails in a way the earlier steps rule out ends the walk with nothing found, and a finding that
// does not explain the connect's errno (`Errno.explains`) is dropped: the error then stays what
// the kernel said, with the table's transience.
import { type ConnectError, Errno } from "@effect-connect/core"
import { statSync } from "node:fs"

/**
 * What a lookup found at a path, symlinks followed.
 */
export interface Entry {
  readonly type: "directory" | "socket" | "other"
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/**
 * The ids the kernel judges a connect's file permissions by: the effective uid and gid (the
 * fs ids, which follow them) and the supplementary groups.
 */
export interface Ids {
  readonly uid: number
  readonly gid: number
  readonly groups: ReadonlyArray<number>
}

/**
 * What the walk asks of the file system: a seam, so that a test can change the path between
 * the walk's steps.
 */
export interface FileSystem {
  /** stat(2): the entry at `path`, or the errno name (`ENOENT`, ...) the lookup failed with. */
  readonly stat: (path: string) => Entry | string
  readonly ids: () => Ids
}

const codeOf = (e: unknown): string => {
  const code = (e as { code?: unknown }).code
  if (typeof code !== "string") throw e
  return code
}

/**
 * The file system of this process.
 */
export const nodeFileSystem: FileSystem = {
  stat: (path) => {
    try {
      const s = statSync(path, { throwIfNoEntry: false })
      if (s === undefined) return "ENOENT"
      return { type: s.isDirectory() ? "directory" : s.isSocket() ? "socket" : "other", mode: s.mode, uid: s.uid, gid: s.gid }
    } catch (e) {
      return codeOf(e)
    }
  },
  ids: () => ({ uid: process.geteuid?.() ?? -1, gid: process.getegid?.() ?? -1, groups: process.getgroups?.() ?? [] })
}

// Write permission on the socket file as the kernel's generic_permission judges it for a
// connect: the owner's bits for the owner, else the group's for a member (effective gid or a
// supplementary group), else the others'; root (CAP_DAC_OVERRIDE) may write anything.
// access(2) would judge by the real ids instead, and say yes to a root process that has
// set its effective uid to a user, whose connect the kernel refuses. POSIX ACLs and a non-root
// process's capabilities are not seen; where they make this judgement wrong, write-denied can
// still only stand beside the EACCES it explains.
const writable = (entry: Entry, ids: Ids): boolean => {
  if (ids.uid === 0) return true
  const bits = entry.uid === ids.uid ? entry.mode >> 6
    : entry.gid === ids.gid || ids.groups.includes(entry.gid) ? entry.mode >> 3
    : entry.mode
  return (bits & 0o2) !== 0
}

// A step's answer: a problem at this component, "on" (nothing wrong here: go on), or "unsure"
// (the lookup failed in a way the earlier steps rule out: the path changed under the walk, or
// an errno the walk cannot read): nothing is found for sure, the walk ends with nothing.
type Step = ConnectError.PathProblem | "on" | "unsure"

const lookupProblem = (code: string, missing: "missing-directory" | "missing-socket"): Step =>
  code === "ENOENT" ? missing : code === "ELOOP" ? "symlink-loop" : code === "ENOTDIR" ? "not-a-directory" : "unsure"

const directoryStep = (fs: FileSystem, dir: string): Step => {
  const entry = fs.stat(dir)
  if (typeof entry === "string") return lookupProblem(entry, "missing-directory")
  if (entry.type !== "directory") return "not-a-directory"
  // Search permission is what a lookup through the directory asks: the kernel's own check,
  // with the ids connect(2) uses, ACLs and capabilities included.
  const through = fs.stat(`${dir}/.`)
  return typeof through !== "string" ? "on" : through === "EACCES" ? "search-denied" : "unsure"
}

// The socket file, in the kernel's order: found, writable, a socket, someone listening. A
// regular file nobody may write to is EACCES, like a socket nobody may write to.
const socketStep = (fs: FileSystem, file: string, errno: string): Step => {
  const entry = fs.stat(file)
  // Every directory on the way was searchable: a failure other than these is a change.
  if (typeof entry === "string") return entry === "ENOTDIR" ? "unsure" : lookupProblem(entry, "missing-socket")
  return !writable(entry, fs.ids()) ? "write-denied"
    : entry.type !== "socket" ? "not-a-socket"
    : errno === "ECONNREFUSED" ? "stale-socket"
    : "on"
}

/**
 * Where on `path` a connect that failed with `errno` went wrong: the first directory that is
 * missing, not a directory, a symlink loop or not searchable, else what is wrong with the socket
 * file itself, when that explains `errno`. Undefined when the walk finds nothing for sure, or
 * what it finds does not explain `errno` (the path changed since the connect, or during the walk).
 *
 * The path is walked as the kernel walks it: each prefix is the path as given, cut after a
 * component, and is looked up by the kernel, so a symlink is followed before the `..` after it
 * (`/a/link/../x` with `link -> /b/c` is `/b/x`). Nothing is folded by text (as `path.resolve`
 * would fold it to `/a/x`), and a relative path stays relative to the working directory. A
 * component in the diagnosis is such a prefix, as given.
 */
export const walk = (path: string, errno: string, fs: FileSystem = nodeFileSystem): ConnectError.PathDiagnosis | undefined => {
  const absolute = path.startsWith("/")
  const names = path.split("/").filter((n) => n.length > 0)
  const prefix = (count: number) => {
    const text = names.slice(0, count).join("/")
    return absolute ? `/${text}` : text === "" ? "." : text
  }
  const found = (component: string, step: Step) =>
    step === "on" || step === "unsure" || !Errno.explains(errno, step) ? undefined : { component, problem: step }
  for (let i = 0; i < names.length; i++) {
    const dir = prefix(i)
    const step = directoryStep(fs, dir)
    if (step !== "on") return found(dir, step)
  }
  return found(path, socketStep(fs, path, errno))
}
