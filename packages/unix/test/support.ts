// What the unix tests share beside native's support.
import { Effect } from "effect"
import { closeSync, constants, mkdirSync, openSync } from "node:fs"
import { join } from "node:path"
import { listening, tempDir } from "../../native/test/support.js"

/**
 * A directory whose socket paths are too long for sun_path, with a server listening in it at
 * `up.sock`, reached through the same /proc/self/fd route the connector takes (Linux).
 */
export const longDirectory = Effect.gen(function*() {
  const base = yield* tempDir
  const dir = join(base, "d".repeat(60), "e".repeat(60))
  mkdirSync(dir, { recursive: true })
  const handle = yield* Effect.acquireRelease(
    Effect.sync(() => openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)),
    (fd) => Effect.sync(() => closeSync(fd))
  )
  yield* listening(`/proc/self/fd/${handle}/up.sock`)
  return dir
})
