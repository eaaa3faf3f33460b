// The unix package where the addon cannot be loaded (kept from loading by EFFECT_CONNECT_NATIVE=0,
// read on first use; this file's modules are its own): its addresses need no addon, and
// UnixConnector.layer, over NativeConnector.layer's fallback to NodeConnector, connects, walks a
// failed path and detours a long one, all without the addon.
import { Address, Connector } from "@effect-connect/core"
import { Addon } from "@effect-connect/native"
import { UnixAddress, UnixConnector } from "@effect-connect/unix"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { afterAll, vi } from "vitest"
import { listening, tempDir } from "../../native/test/support.js"
import { longDirectory } from "./support.js"

vi.stubEnv("EFFECT_CONNECT_NATIVE", "0")
afterAll(() => void vi.unstubAllEnvs())

describe("the unix package without the addon (EFFECT_CONNECT_NATIVE=0)", () => {
  it.effect("UnixAddress checks paths against sun_path with no addon", () =>
    Effect.gen(function*() {
      expect(Addon.loadError()).toMatchObject({ _tag: "Unsupported" })
      expect(UnixAddress.limit).toBe(process.platform === "linux" ? 108 : 104)
      const long = "/" + "a".repeat(UnixAddress.limit)
      expect(yield* Effect.flip(UnixAddress.path(long))).toMatchObject({ _tag: "NameTooLong", limit: UnixAddress.limit })
    }))

  it.live("UnixConnector.layer connects, and a failure's path is walked", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const up = join(dir, "up.sock")
      yield* listening(up)
      const connection = yield* Connector.connect(Address.unix(up))
      expect(connection.remote).toEqual(Address.unix(up))
      // NodeConnector's connection: the socket that connected, whose fd libuv keeps.
      expect(() => connection.detach()).toThrow("NodeConnector")
      const missing = join(dir, "gone", "s.sock")
      expect({ ...yield* Effect.flip(Connector.connect(Address.unix(missing))) }).toEqual({
        _tag: "NotFound", errno: "ENOENT", code: 2, syscall: "connect", address: `unix://${missing}`, transient: true,
        diagnosis: { component: join(dir, "gone"), problem: "missing-directory" }
      })
    }).pipe(Effect.scoped, Effect.provide(UnixConnector.layer)))

  it.live.skipIf(process.platform !== "linux")("via-directory (Linux) opens the directory with node:fs: a long path connects", () =>
    Effect.gen(function*() {
      const dir = yield* longDirectory
      const up = join(dir, "up.sock")
      expect(UnixAddress.isTooLong(up)).toBe(true)
      const remote = yield* Effect.scoped(Effect.map(Connector.connect(Address.unix(up)), (c) => c.remote))
      expect(remote).toEqual(Address.unix(up))
      const missing = join(dir, "gone", "s.sock")
      expect(yield* Effect.flip(Effect.scoped(Connector.connect(Address.unix(missing))))).toMatchObject({
        _tag: "NotFound", errno: "ENOENT", address: `unix://${missing}`, diagnosis: { component: join(dir, "gone"), problem: "missing-directory" }
      })
    }).pipe(Effect.provide(UnixConnector.layerWith({ longPaths: "via-directory" }))))
})
