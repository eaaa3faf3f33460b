/**
 * A `Connector` whose unix path errors say where on the path the connect failed and why. After
 * ENOENT, ENOTDIR, EACCES, ELOOP or ECONNREFUSED on a `UnixPath`, the path is walked, directory
 * by directory, and the error comes back with the same tag and a `diagnosis`: missing directory
 * vs missing socket, search permission on a directory vs write permission on the socket, a
 * regular file where the socket should be, a stale socket nobody listens on, a symlink loop. An
 * EACCES's `reason` says which permission it was (`search-prefix` or `socket-write`).
 *
 * @since 0.1.0
 */
import { ConnectError, Connector, Errno } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { Effect, Layer, Predicate } from "effect"
import { walk } from "./internal/walk.js"

const walked: ReadonlySet<string> = new Set(["ENOENT", "ENOTDIR", "EACCES", "ELOOP", "ECONNREFUSED"])

/**
 * The error of a connect to `path`, with what a walk of the path found, when its errno is one a
 * path can cause; any other error as it was. The walk never fails.
 *
 * @since 0.1.0
 * @category diagnosis
 */
export const diagnose = <E>(path: string, error: E): Effect.Effect<E> => {
  if (!Predicate.hasProperty(error, "errno") || typeof error.errno !== "string" || !walked.has(error.errno)) {
    return Effect.succeed(error)
  }
  const { errno, syscall, address } = error as unknown as ConnectError.ErrorOf<Errno.Tag>
  return Effect.map(
    Effect.promise(() => walk(path, errno).catch(() => undefined)),
    (diagnosis) =>
      diagnosis === undefined
        ? error
        : ConnectError.fromErrno(errno, { kind: "unix", syscall, address, platform: Errno.currentPlatform, diagnosis }) as E
  )
}

/**
 * Wraps the `Connector` in context: unix path errors are diagnosed, everything else passes
 * through.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Connector.Connector["Type"], never, Connector.Connector> = Effect.map(
  Connector.Connector,
  (inner) => ({
    connect: (address, options) =>
      address._tag === "UnixPath"
        ? Effect.catchAll(inner.connect(address, options), (e) => Effect.flatMap(diagnose(address.path, e), Effect.fail))
        : inner.connect(address, options)
  }) as Connector.Connector["Type"]
)

/**
 * `NativeConnector.layer` with unix path errors diagnosed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector.Connector> = Layer.effect(Connector.Connector, make).pipe(
  Layer.provide(NativeConnector.layer)
)
