// The tests' own helpers: a listen that fails is that failure, never a wait that hangs a
// beforeAll into its timeout while the server's error goes uncaught.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { listening, tempDir } from "./support.js"

const nodeMajor = Number(process.versions.node.split(".")[0])

describe("listening", () => {
  it.live("on a port in use: fails with the listen's EADDRINUSE", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, undefined, "127.0.0.1")
      const port = (server.address() as { port: number }).port
      const error = yield* Effect.flip(Effect.scoped(listening(port, undefined, "127.0.0.1")))
      expect(error).toMatchObject({ code: "EADDRINUSE", syscall: "listen" })
    }), 5_000)

  // Node 20 and 22 shortened such a path to sun_path's size and listened there.
  it.live.skipIf(nodeMajor < 24)("on a unix path longer than sun_path: fails with the listen's EINVAL (Node 24+; skipped before 24, where Node shortens the path instead)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "s".repeat(120))
      const error = yield* Effect.flip(Effect.scoped(listening(path)))
      expect(error).toMatchObject({ code: "EINVAL", syscall: "listen" })
    }), 5_000)
})
