// A unix path's diagnosis through the policies: a missing directory is waited for and its
// diagnosis survives the deadline; a regular file or a directory at the path is given up at once.
import { Address, ConnectError, Connector, Policy } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { UnixConnector } from "@effect-connect/unix"
import { tempDir } from "../../native/test/support.js"

const retried = (path: string) =>
  Connector.connect(Address.unix(path)).pipe(
    Policy.retryTransient(Policy.backoff({ base: "20 millis", cap: "100 millis" })),
    Policy.deadline("600 millis"),
    Effect.flip
  )

describe("unix path diagnosis through the policies", () => {
  it.live("a missing directory: retried until the deadline, which keeps the diagnosis", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "missing", "app.sock")
      const error = yield* retried(path)
      const diagnosis = { component: join(dir, "missing"), problem: "missing-directory" }
      expect(error).toMatchObject({
        _tag: "TimedOut", source: "deadline", scope: "overall", address: `unix://${path}`,
        cause: { _tag: "NotFound", errno: "ENOENT", transient: true, diagnosis }
      })
      if (error._tag !== "TimedOut") return
      expect(error.cause).toBeInstanceOf(ConnectError.NotFound)
      expect(error.attempts).toBeGreaterThanOrEqual(3)
      expect(error.message).toMatch(new RegExp(
        `^connect unix://${path}: gave up after \\d+ ms and ${error.attempts} attempts; the last failed with ENOENT: ` +
          `${join(dir, "missing")}: this directory does not exist$`
      ))
    }).pipe(Effect.provide(UnixConnector.layer)))

  // Under the test clock the deadline passes while no wall time does: an attempt that had failed
  // and was still being diagnosed would be reported undiagnosed.
  it.effect("a deadline that passes right after a failed attempt still has that attempt's diagnosis", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "missing", "app.sock")
      const fiber = yield* Effect.forkChild(retried(path))
      yield* TestClock.adjust("600 millis")
      expect(yield* Fiber.join(fiber)).toMatchObject({
        _tag: "TimedOut", source: "deadline", scope: "overall",
        cause: { _tag: "NotFound", errno: "ENOENT", diagnosis: { component: join(dir, "missing"), problem: "missing-directory" } }
      })
    }).pipe(Effect.provide(UnixConnector.layer)))

  it.live("a regular file or a directory at the path: permanent, one attempt, no false timeout", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "file.sock")
      writeFileSync(file, "")
      const directory = join(dir, "dir.sock")
      mkdirSync(directory)
      for (const path of [file, directory]) {
        const error = yield* retried(path)
        expect(error).toBeInstanceOf(ConnectError.ConnectionRefused)
        expect(error).toMatchObject({
          _tag: "ConnectionRefused", errno: "ECONNREFUSED", transient: false, diagnosis: { component: path, problem: "not-a-socket" }
        })
        expect(error).not.toHaveProperty("attempts")
        expect(error.message).toBe(
          `connect unix://${path} failed with ECONNREFUSED: ${path}: a regular file or a directory, not a socket: ` +
            "no server can listen here until it is removed"
        )
      }
    }).pipe(Effect.provide(UnixConnector.layer)))
})
