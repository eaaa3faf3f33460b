// An errno the table lacks keeps the platform's name for it, from os.constants.errno.
import { describe, expect, it } from "vitest"
import { constants } from "node:os"
import * as fd from "../src/internal/fd.js"

const context = { kind: "raw", address: "tcp://127.0.0.1:1", platform: "linux" } as const

describe("errno names from the platform", () => {
  it("a number outside the table keeps its symbolic name, said once with its number", () => {
    const error = fd.errnoError(-constants.errno.EXDEV, "connect", context)
    expect(error).toMatchObject({ _tag: "UnknownErrno", errno: "EXDEV", code: constants.errno.EXDEV, syscall: "connect" })
    expect(error.message).toBe(`connect tcp://127.0.0.1:1 failed with EXDEV (errno ${constants.errno.EXDEV})`)
  })

  it("a number the table has is its own class, whatever Node calls it", () => {
    expect(fd.errnoError(-constants.errno.ENOPROTOOPT, "connect", { ...context, kind: "inet" }))
      .toMatchObject({ _tag: "ProtocolNotAvailable", errno: "ENOPROTOOPT" })
  })
})
