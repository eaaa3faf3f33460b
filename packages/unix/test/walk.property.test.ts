// The path walk against a model of the kernel's lookup, through the walk's file-system seam:
// on a path that holds still, the walk finds what the kernel's connect(2) ran into; on a path
// that changes between the connect and the walk, and between the walk's own steps, the diagnosis
// still explains the connect's errno, says only what was true of its component at some step of
// the walk, and never makes a transient error permanent unless a permanent problem was there.
import { fc, test } from "@fast-check/vitest"
import { ConnectError, Errno } from "@effect-connect/core"
import { describe, expect, it } from "vitest"
import { type Entry, type FileSystem, type Ids, walk } from "../src/internal/walk.js"
import { runs } from "../../core/test/arbitraries.js"

// The path /d0/d1/s.sock: two directories, then the socket file. "/" itself is a directory
// everybody may search.
const path = "/d0/d1/s.sock"
const components = ["/d0", "/d0/d1", path] as const
const last = components.length - 1

type Kind = "missing" | "directory" | "socket" | "file" | "loop"
interface Node {
  readonly kind: Kind
  readonly mode: number
  readonly uid: number
  readonly gid: number
}
/** What is at each component. */
type World = ReadonlyArray<Node>

// generic_permission, written out again for the model: the owner's, the group's or the others'
// bits; root passes.
const allowed = (node: Node, ids: Ids, bit: number) => {
  if (ids.uid === 0) return true
  const bits = node.uid === ids.uid ? node.mode >> 6
    : node.gid === ids.gid || ids.groups.includes(node.gid) ? node.mode >> 3
    : node.mode
  return (bits & bit) !== 0
}
const search = (node: Node, ids: Ids) => allowed(node, ids, 1)
const write = (node: Node, ids: Ids) => allowed(node, ids, 2)

const entryOf = (node: Node): Entry => ({
  type: node.kind === "directory" ? "directory" : node.kind === "socket" ? "socket" : "other",
  mode: node.mode,
  uid: node.uid,
  gid: node.gid
})

// The kernel's lookup of a component (`through`: and then of a name inside it, which needs
// search permission on it): the entry, or the errno.
const lookup = (world: World, ids: Ids, index: number, through: boolean): Entry | string => {
  for (let m = 0; m <= index; m++) {
    const node = world[m]!
    if (node.kind === "missing") return "ENOENT"
    if (node.kind === "loop") return "ELOOP"
    if (m < index || through) {
      if (node.kind !== "directory") return "ENOTDIR"
      if (!search(node, ids)) return "EACCES"
    }
  }
  return entryOf(world[index]!)
}

// stat(2) in a world, for the paths the walk asks about.
const statIn = (world: World, ids: Ids, p: string): Entry | string => {
  const through = p.endsWith("/.")
  const base = through ? p.slice(0, -2) || "/" : p
  if (base === "/") return { type: "directory", mode: 0o755, uid: 0, gid: 0 }
  const index = components.indexOf(base as typeof components[number])
  if (index < 0) throw new Error(`the walk asked about ${p}`)
  return lookup(world, ids, index, through)
}

// What connect(2) returns in a world where nobody listens (Linux's unix_find_bsd): the lookup,
// then write permission on the file, then ECONNREFUSED for a socket or anything else.
const connectErrno = (world: World, ids: Ids): string => {
  const found = lookup(world, ids, last, false)
  if (typeof found === "string") return found
  return write(world[last]!, ids) ? "ECONNREFUSED" : "EACCES"
}

// What is wrong with one component, looked up as a path in a world: the problems it has there.
const problemsAt = (world: World, ids: Ids, index: number): ReadonlyArray<ConnectError.PathProblem> => {
  const found = lookup(world, ids, index, false)
  if (index < last) {
    if (typeof found === "string") {
      return found === "ENOENT" ? ["missing-directory"] : found === "ELOOP" ? ["symlink-loop"] : found === "ENOTDIR" ? ["not-a-directory"] : []
    }
    if (found.type !== "directory") return ["not-a-directory"]
    return typeof lookup(world, ids, index, true) === "string" ? ["search-denied"] : []
  }
  if (typeof found === "string") return found === "ENOENT" ? ["missing-socket"] : found === "ELOOP" ? ["symlink-loop"] : []
  return !write(world[last]!, ids) ? ["write-denied"] : found.type !== "socket" ? ["not-a-socket"] : ["stale-socket"]
}

// The first problem on the path of a world: the diagnosis of a path that holds still.
const firstProblem = (world: World, ids: Ids): ConnectError.PathDiagnosis | undefined => {
  for (let index = 0; index <= last; index++) {
    const [problem] = problemsAt(world, ids, index)
    if (problem !== undefined) return { component: components[index]!, problem }
  }
  return undefined
}

/** A file system that answers from `worlds[0]`, and moves to the next world after a call when `moves` says so. */
const changing = (worlds: ReadonlyArray<World>, moves: ReadonlyArray<boolean>, ids: Ids) => {
  let at = 0
  let calls = 0
  const seen = new Set<number>()
  const fs: FileSystem = {
    stat: (p) => {
      seen.add(at)
      const answer = statIn(worlds[at]!, ids, p)
      if (moves[calls++] === true && at < worlds.length - 1) at++
      return answer
    },
    ids: () => ids
  }
  return { fs, seen: () => [...seen].map((i) => worlds[i]!) }
}

const ids: fc.Arbitrary<Ids> = fc.record({
  uid: fc.constantFrom(0, 1000),
  gid: fc.constant(1000),
  groups: fc.constantFrom([1000], [1000, 1001])
})
const node = (kinds: ReadonlyArray<Kind>): fc.Arbitrary<Node> =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    mode: fc.oneof(fc.constantFrom(0o755, 0o777, 0o700, 0o000), fc.nat({ max: 0o777 })),
    uid: fc.constantFrom(0, 1000, 1002),
    gid: fc.constantFrom(0, 1000, 1001, 1003)
  })
const world = (kinds: ReadonlyArray<Kind>): fc.Arbitrary<World> => fc.tuple(node(kinds), node(kinds), node(kinds))
const anything = world(["missing", "directory", "directory", "socket", "file", "loop"])
// What a server that removes and re-creates its socket does to a path: directories and the
// socket file come and go, and every permission is granted.
const flapping = fc.tuple(
  fc.constantFrom<Kind>("missing", "directory"),
  fc.constantFrom<Kind>("missing", "directory"),
  fc.constantFrom<Kind>("missing", "socket")
).map(([a, b, c]) => [a, b, c].map((kind) => ({ kind, mode: 0o777, uid: 0, gid: 0 })))

const unix = { kind: "unix", syscall: "connect", address: `unix://${path}`, platform: "linux" } as const
const diagnosed = (errno: string, diagnosis: ConnectError.PathDiagnosis | undefined) =>
  ConnectError.fromErrno(errno, diagnosis === undefined ? unix : { ...unix, diagnosis })

describe("the path walk, against a model of the kernel's lookup", () => {
  test.prop([anything, ids], runs)("a path that holds still: the walk finds what the connect ran into", (w, who) => {
    const errno = connectErrno(w, who)
    const { fs } = changing([w], [], who)
    const diagnosis = walk(path, errno, fs)
    expect(diagnosis).toEqual(firstProblem(w, who))
    if (diagnosis !== undefined) expect(Errno.explains(errno, diagnosis.problem)).toBe(true)
  })

  test.prop([fc.array(anything, { minLength: 2, maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 12 }), ids], runs)(
    "a path that changes under the walk: the diagnosis explains the errno, was true at some step, decides transience",
    (worlds, moves, who) => {
      const errno = connectErrno(worlds[0]!, who)
      // The connect saw worlds[0]; the walk starts in any later world.
      const { fs, seen } = changing(worlds.slice(1), moves, who)
      const diagnosis = walk(path, errno, fs)
      const error = diagnosed(errno, diagnosis)
      if (diagnosis === undefined) {
        expect(error).not.toHaveProperty("diagnosis")
        expect(error.transient).toBe((Errno.table[errno as Errno.Name] as Errno.Row).transient)
        return
      }
      expect(Errno.explains(errno, diagnosis.problem)).toBe(true)
      const index = components.indexOf(diagnosis.component as typeof components[number])
      expect(seen().some((w) => problemsAt(w, who, index).includes(diagnosis.problem))).toBe(true)
      expect(error).toMatchObject({ diagnosis, transient: Errno.pathProblems[diagnosis.problem].transient })
    }
  )

  test.prop([fc.array(flapping, { minLength: 2, maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 12 }), ids], runs)(
    "a socket and directories that come and go: a transient errno stays transient",
    (worlds, moves, who) => {
      const errno = connectErrno(worlds[0]!, who)
      expect(["ENOENT", "ECONNREFUSED"]).toContain(errno)
      const { fs } = changing(worlds.slice(1), moves, who)
      expect(diagnosed(errno, walk(path, errno, fs)).transient).toBe(true)
    }
  )
})

describe("the path walk, on a path that changed at a given step", () => {
  const directory: Node = { kind: "directory", mode: 0o755, uid: 0, gid: 0 }
  const socket: Node = { kind: "socket", mode: 0o777, uid: 0, gid: 0 }
  const gone: Node = { kind: "missing", mode: 0, uid: 0, gid: 0 }
  const file: Node = { kind: "file", mode: 0o644, uid: 0, gid: 0 }
  const loop: Node = { kind: "loop", mode: 0o777, uid: 0, gid: 0 }
  const nobody: Ids = { uid: 1000, gid: 1000, groups: [1000] }
  // The walk's lookups, in order: "/", "/." , "/d0", "/d0/.", "/d0/d1", "/d0/d1/.", the socket.
  const socketLookup = 6
  const after = (calls: number) => Array.from({ length: calls }, (_, i) => i === calls - 1)

  it("ECONNREFUSED, then the socket file goes (as nobody): no diagnosis, transient; never write-denied or missing-socket", () => {
    // The connect found a socket nobody listens on; the server removed it before the walk looked.
    const { fs } = changing([[directory, directory, gone]], [], nobody)
    const diagnosis = walk(path, "ECONNREFUSED", fs)
    expect(diagnosis).toBeUndefined()
    expect(diagnosed("ECONNREFUSED", diagnosis)).toMatchObject({ _tag: "ConnectionRefused", transient: true })
  })

  it("ECONNREFUSED, and the socket file goes right after the walk's one look at it: stale-socket", () => {
    const { fs } = changing([[directory, directory, socket], [directory, directory, gone]], after(socketLookup + 1), nobody)
    expect(walk(path, "ECONNREFUSED", fs)).toEqual({ component: path, problem: "stale-socket" })
  })

  it("ENOENT, then a regular file or a symlink loop where the directory was missing: no diagnosis, transient", () => {
    for (const appeared of [file, loop]) {
      const { fs } = changing([[directory, appeared, gone]], [], nobody)
      const diagnosis = walk(path, "ENOENT", fs)
      expect(diagnosis, appeared.kind).toBeUndefined()
      expect(diagnosed("ENOENT", diagnosis)).toMatchObject({ _tag: "NotFound", transient: true })
    }
  })

  it("ENOENT, and a directory goes between two steps of the walk: no diagnosis, transient", () => {
    // /d0/d1 is there when the walk looks at it, and gone when it looks through it.
    const { fs } = changing([[directory, directory, gone], [directory, gone, gone]], after(4 + 1), nobody)
    const diagnosis = walk(path, "ENOENT", fs)
    expect(diagnosis).toBeUndefined()
    expect(diagnosed("ENOENT", diagnosis)).toMatchObject({ _tag: "NotFound", transient: true })
  })

  it("EACCES from a locked directory that is opened before the walk: no diagnosis, permanent as the kernel said", () => {
    const { fs } = changing([[directory, directory, socket]], [], nobody)
    const diagnosis = walk(path, "EACCES", fs)
    expect(diagnosis).toBeUndefined()
    expect(diagnosed("EACCES", diagnosis)).toMatchObject({ _tag: "PermissionDenied", reason: "unknown", transient: false })
  })
})

describe("the consistency table", () => {
  it("each path problem explains the errnos of a connect to a path with that problem, and no other", () => {
    expect(Object.fromEntries(Object.keys(Errno.pathProblems).map((p) => [p, Errno.names.filter((n) => Errno.explains(n, p))]))).toEqual({
      "missing-directory": ["ENOENT"],
      "missing-socket": ["ENOENT"],
      "not-a-directory": ["ENOTDIR"],
      "search-denied": ["EACCES"],
      "write-denied": ["EACCES"],
      "not-a-socket": ["ECONNREFUSED"],
      "stale-socket": ["ECONNREFUSED"],
      "symlink-loop": ["ELOOP"]
    })
    // Only the errnos the unix connector walks after are explained by anything.
    const walked = Errno.names.filter((n) => (Errno.table[n] as Errno.Row).pathCause === true)
    expect(Errno.names.filter((n) => Object.keys(Errno.pathProblems).some((p) => Errno.explains(n, p)))).toEqual(walked)
    expect(Errno.explains("ENOENT", "__proto__")).toBe(false)
  })

  it("fromErrno leaves out a diagnosis that contradicts the errno: the error is the kernel's", () => {
    const contradicting = [
      ["ENOENT", "not-a-directory"],
      ["ENOENT", "symlink-loop"],
      ["ECONNREFUSED", "missing-socket"],
      ["ECONNREFUSED", "write-denied"],
      ["EACCES", "missing-directory"]
    ] as const
    for (const [errno, problem] of contradicting) {
      const error = ConnectError.fromErrno(errno, { ...unix, diagnosis: { component: path, problem } })
      expect(error, `${errno} ${problem}`).not.toHaveProperty("diagnosis")
      expect(error.transient).toBe((Errno.table[errno] as Errno.Row).transient)
      expect(error.message).not.toContain(Errno.pathProblems[problem].meaning)
    }
  })
})
