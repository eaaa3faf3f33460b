/**
 * A `Connector` whose unix path errors say where on the path the connect failed and why. After
 * an errno the table marks `pathCause` (ENOENT, ENOTDIR, EACCES, ELOOP, ECONNREFUSED) on a
 * `UnixPath`, the path is walked, directory
 * by directory, and the error comes back with the same tag and a `diagnosis`: missing directory
 * vs missing socket, search permission on a directory vs write permission on the socket, a
 * regular file where the socket should be, a stale socket nobody listens on, a symlink loop. An
 * EACCES's `reason` says which permission it was (`search-prefix` or `socket-write`). By option,
 * a path longer than sun_path is connected through its directory (Linux).
 *
 * The diagnosis explains the errno (`Errno.explains`) or is left out: a walk that finds what
 * would have been another errno saw a path that changed after the connect (a server removing and
 * re-creating its socket), and the error stays the kernel's, transient as the table says.
 * Permissions are judged for the ids the kernel's connect uses: the effective uid, gid and groups.
 *
 * @since 0.1.0
 */
import { Address, ConnectError, type Connection, Connector, Errno } from "@effect-connect/core"
import { NativeConnector, Raw } from "@effect-connect/native"
import { Effect, Layer, Predicate, Scope } from "effect"
import { basename, dirname } from "node:path"
import { walk } from "./internal/walk.js"
import * as UnixAddress from "./UnixAddress.js"

const walked: ReadonlySet<string> = new Set(Errno.names.filter((name) => (Errno.table[name] as Errno.Row).pathCause === true))

/**
 * The error of a connect to `path`, with what a walk of the path found, when its errno is one a
 * path can cause and the finding explains it; any other error as it was. The walk never fails,
 * and is synchronous, as the connect(2) before it: nothing can interrupt a connect between its
 * error and the diagnosis.
 *
 * @since 0.1.0
 * @category diagnosis
 */
export const diagnose = <E>(path: string, error: E): Effect.Effect<E> => {
  if (!Predicate.hasProperty(error, "errno") || typeof error.errno !== "string" || !walked.has(error.errno)) {
    return Effect.succeed(error)
  }
  const { errno, syscall, address } = error as unknown as ConnectError.ErrorOf<Errno.Tag>
  // An error of someone else's making, without the fields ours have, is not rebuilt as ours.
  if (typeof address !== "string" || !ConnectError.Syscall.literals.includes(syscall)) return Effect.succeed(error)
  return Effect.sync(() => {
    const diagnosis = walkedOrNothing(path, errno)
    return diagnosis === undefined
      ? error
      : ConnectError.fromErrno(errno, { kind: "unix", syscall, address, platform: Errno.currentPlatform, diagnosis }) as E
  })
}

// A path the walk cannot take (no string, say) has no diagnosis.
const walkedOrNothing = (path: string, errno: string) => {
  try {
    return walk(path, errno)
  } catch {
    return undefined
  }
}

/**
 * The options of `make` and `layerWith`: what a unix path longer than sun_path does.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * A path longer than sun_path: `"fail"` (the default) is `NameTooLong` with the limit;
   * `"via-directory"` (Linux) opens the socket's directory (O_PATH, for the connect only) and
   * connects to `/proc/self/fd/<dir>/<name>`, a short path to the same socket file. The
   * connection's `remote` and any error's `address` are the path asked for.
   */
  readonly longPaths?: "fail" | "via-directory"
}

// The layer's options come from configuration as often as from code: what is wrong with them is
// every connect's InvalidAddress (field "option", as for a connect's own options).
const optionsProblem = (options: unknown): string | undefined => {
  if (typeof options !== "object" || options === null) return `UnixConnector options must be an object, got ${ConnectError.shown(options)}`
  const longPaths: unknown = (options as Options).longPaths
  return longPaths === undefined || longPaths === "fail" || longPaths === "via-directory" ? undefined
    : `UnixConnector longPaths must be "fail" or "via-directory", got ${ConnectError.shown(longPaths)}`
}

// The same error with another address (an InvalidAddress's is its `input`): the fields are the
// class's own properties.
const readdress = <E>(error: E, address: string): E =>
  Predicate.hasProperty(error, "address")
    ? new (error.constructor as new(fields: object) => E)({ ...error, address })
    : Predicate.isTagged(error, "InvalidAddress")
    ? new (error.constructor as new(fields: object) => E)({ ...error, input: address })
    : error

// The connection under another remote address. It delegates, never copies: a connection's
// methods and its fd's owner live on the original, and a spread would drop the one and fork the other.
const readdressed = (connection: Connection.Connection, remote: Address.UnixPath): Connection.Connection => ({
  get fd() {
    return connection.fd
  },
  get local() {
    return connection.local
  },
  remote,
  toNodeSocket: () => connection.toNodeSocket(),
  toSocket: () => connection.toSocket(),
  detach: () => connection.detach()
})

const viaDirectory = (
  inner: Connector.Connector["Service"],
  address: Address.UnixPath,
  options: Connector.ConnectOptions | undefined
) => {
  // The path's own text, cut at its last component: `dirname` folds nothing, so the kernel
  // resolves `..` after any symlink before it, as it would in the connect itself.
  const input = Address.format(address)
  const dir = Effect.mapError(
    Raw.openDirectory(dirname(address.path)),
    (e) => ConnectError.fromErrno(e.errno, { kind: "unix", syscall: "connect", address: input, platform: Errno.currentPlatform })
  )
  return Effect.acquireUseRelease(
    Scope.make(),
    (held) =>
      Effect.flatMap(Scope.provide(dir, held), (fd) => inner.connect(Address.unix(`/proc/self/fd/${fd}/${basename(address.path)}`), options)).pipe(
        Effect.map((connection) => readdressed(connection, address)),
        Effect.mapError((e) => readdress(e, input))
      ),
    // The directory is needed only to resolve the path: the connected socket does not use it.
    (held, exit) => Scope.close(held, exit)
  )
}

/**
 * Wraps the `Connector` in context: unix path errors are diagnosed, everything else passes
 * through.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Connector.Connector["Service"], never, Connector.Connector> =>
  Effect.map(Connector.Connector, (inner) => {
    const invalid = optionsProblem(options)
    const detour = invalid === undefined && options.longPaths === "via-directory" && Errno.currentPlatform === "linux"
    return {
      connect: (address: Address.Address, connectOptions?: Connector.ConnectOptions) => {
        if (invalid !== undefined) {
          return Effect.fail(new ConnectError.InvalidAddress({ input: Address.format(address), field: "option", reason: invalid }))
        }
        // A caller's null is no address: the inner connector says so.
        if (address?._tag !== "UnixPath") return inner.connect(address, connectOptions)
        // Checked before the long-path detour, which would otherwise make a relative path absolute.
        const problem = Address.problem(address)
        if (problem !== undefined) return Effect.fail(problem)
        const long = detour && UnixAddress.isTooLong(address.path)
        return Effect.catch(
          long ? viaDirectory(inner, address, connectOptions) : inner.connect(address, connectOptions),
          (e) => Effect.flatMap(diagnose(address.path, e), Effect.fail)
        )
      }
    } as Connector.Connector["Service"]
  })

/**
 * `NativeConnector.layer` with unix path errors diagnosed, and long paths as `options` say.
 * Where the addon cannot be loaded, that layer is `NodeConnector`'s: the diagnosis and the
 * long-path detour work the same over it (they need no addon). Over a connector of your choice:
 * `Layer.effect(Connector.Connector, UnixConnector.make(options))` provided with its layer.
 * Options that are no object, or a `longPaths` that is neither value, make every connect
 * `InvalidAddress` (`field: "option"`) naming them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Connector.Connector> =>
  Layer.effect(Connector.Connector, make(options)).pipe(Layer.provide(NativeConnector.layer))

/**
 * `NativeConnector.layer` with unix path errors diagnosed; a path longer than sun_path is
 * `NameTooLong`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = layerWith({})
