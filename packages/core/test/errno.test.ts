import { Schema } from "effect"
import { constants } from "node:os"
import { describe, expect, it } from "vitest"
import { ConnectError, Errno } from "@effect-connect/core"

const context = { kind: "raw", syscall: "connect", address: "tcp://127.0.0.1:5432", platform: "linux" } as const

describe("the errno table", () => {
  it("holds all 21 errnos of the seed manual page, each mapping to its own class", () => {
    expect(Errno.seedNames).toHaveLength(21)
    for (const name of Errno.seedNames) {
      const row = Errno.table[name]
      const error = ConnectError.fromErrno(name, context)
      expect(error).toBeInstanceOf(ConnectError.classes[row.tag])
      expect(error._tag).toBe(row.tag)
      expect(error.errno).toBe(name)
      expect(error.code).toBe(row.linux)
      expect(error.syscall).toBe("connect")
      expect(error.address).toBe("tcp://127.0.0.1:5432")
      expect(error.transient).toBe(row.transient)
      expect(error.message).toContain(name)
      expect(error.message).toContain("tcp://127.0.0.1:5432")
      expect(error.message).toContain(row.meaning)
    }
  })

  it("maps a number to the same class as its name, on every platform", () => {
    for (const name of Errno.names) {
      for (const platform of ["linux", "darwin", "freebsd"] as const) {
        const byNumber = ConnectError.fromErrno(Errno.codeOf(name, platform), { ...context, platform })
        expect(byNumber._tag).toBe(Errno.table[name].tag)
        expect(byNumber.errno).toBe(name)
        expect(byNumber.code).toBe(Errno.table[name][platform])
      }
    }
  })

  it.skipIf(process.platform !== "linux")("agrees with this kernel's numbers (os.constants.errno)", () => {
    for (const name of Errno.names) {
      expect([name, Errno.table[name].linux]).toEqual([name, (constants.errno as Record<string, number>)[name]])
    }
  })

  it("numbers are unique per platform", () => {
    for (const platform of ["linux", "darwin", "freebsd"] as const) {
      const codes = Errno.names.map((name) => Errno.codeOf(name, platform))
      expect(new Set(codes).size).toBe(codes.length)
    }
  })

  it("keeps an errno it does not know, with name and number", () => {
    const byName = ConnectError.fromErrno("ESTALE", context)
    expect(byName).toMatchObject({ _tag: "UnknownErrno", errno: "ESTALE", code: -1, transient: false })
    const byNumber = ConnectError.fromErrno(116, context)
    expect(byNumber).toMatchObject({ _tag: "UnknownErrno", errno: "116", code: 116, transient: false })
  })

  it("keeps the union honest: an errno impossible for the kind becomes UnknownErrno", () => {
    const inet = ConnectError.fromErrno("ENOTDIR", { ...context, kind: "inet" })
    expect(inet).toMatchObject({ _tag: "UnknownErrno", errno: "ENOTDIR", code: 20 })
    const unix = ConnectError.fromErrno("ENETUNREACH", { ...context, kind: "unix", address: "unix:///tmp/x.sock" })
    expect(unix).toMatchObject({ _tag: "UnknownErrno", errno: "ENETUNREACH", code: 101 })
    const raw = ConnectError.fromErrno("EISCONN", { ...context, kind: "inet" })
    expect(raw._tag).toBe("UnknownErrno")
    expect(ConnectError.fromErrno("EISCONN", context)._tag).toBe("AlreadyConnected")
  })

  it("fills each class's own fields from the errno and the context", () => {
    expect(ConnectError.fromErrno("ETIMEDOUT", context)).toMatchObject({ _tag: "TimedOut", source: "kernel" })
    expect(ConnectError.fromErrno("EAGAIN", { ...context, kind: "unix" })).toMatchObject({ reason: "backlog-full" })
    expect(ConnectError.fromErrno("EAGAIN", { ...context, kind: "inet" })).toMatchObject({ reason: "ports-exhausted" })
    expect(ConnectError.fromErrno("EACCES", { ...context, kind: "datagram" })).toMatchObject({ reason: "broadcast" })
    expect(ConnectError.fromErrno("EACCES", { ...context, kind: "unix", permission: "search-prefix" }))
      .toMatchObject({ reason: "search-prefix" })
    expect(ConnectError.fromErrno("EMFILE", context)).toMatchObject({ _tag: "TooManyOpenFiles", scope: "process" })
    expect(ConnectError.fromErrno("ENFILE", context)).toMatchObject({ _tag: "TooManyOpenFiles", scope: "system" })
    expect(ConnectError.fromErrno("ENOMEM", context)).toMatchObject({ _tag: "OutOfResources", errno: "ENOMEM", code: 12 })
  })

  it("makes EADDRINUSE and EADDRNOTAVAIL permanent when the caller chose the local address", () => {
    expect(ConnectError.fromErrno("EADDRINUSE", context).transient).toBe(true)
    expect(ConnectError.fromErrno("EADDRINUSE", { ...context, localChosen: true }).transient).toBe(false)
    expect(ConnectError.fromErrno("EADDRNOTAVAIL", { ...context, localChosen: true }).transient).toBe(false)
  })

  it("puts the Linux hint in EADDRNOTAVAIL's message", () => {
    expect(ConnectError.fromErrno("EADDRNOTAVAIL", context).message).toContain("net.ipv4.ip_local_port_range")
  })

  it("encodes and decodes across a process boundary, message included", () => {
    const error = ConnectError.fromErrno("ETIMEDOUT", context)
    const schema = ConnectError.TimedOut
    const encoded = Schema.encodeSync(schema)(error as ConnectError.TimedOut)
    expect(JSON.parse(JSON.stringify(encoded))).toEqual({
      _tag: "TimedOut", errno: "ETIMEDOUT", code: 110, syscall: "connect", address: "tcp://127.0.0.1:5432",
      transient: true, source: "kernel"
    })
    const decoded = Schema.decodeUnknownSync(schema)(encoded)
    expect(decoded).toBeInstanceOf(ConnectError.TimedOut)
    expect(decoded.message).toBe(error.message)
  })

  it("a path diagnosis: in the message instead of the hint, sets EACCES's reason, survives encode and decode", () => {
    const unix = { kind: "unix", syscall: "connect", address: "unix:///run/app.sock", platform: "linux" } as const
    const denied = ConnectError.fromErrno("EACCES", { ...unix, diagnosis: { component: "/run/app.sock", problem: "write-denied" } })
    expect(denied).toMatchObject({ _tag: "PermissionDenied", reason: "socket-write", diagnosis: { component: "/run/app.sock", problem: "write-denied" } })
    expect(denied.message).toBe(
      "connect unix:///run/app.sock failed with EACCES, socket-write: /run/app.sock: no write permission on this socket file"
    )
    expect(ConnectError.fromErrno("EACCES", { ...unix, diagnosis: { component: "/run", problem: "search-denied" } }))
      .toMatchObject({ reason: "search-prefix" })
    const schema = ConnectError.PermissionDenied
    const decoded = Schema.decodeUnknownSync(schema)(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(denied as ConnectError.PermissionDenied))))
    expect(decoded.diagnosis).toEqual(denied.diagnosis)
    expect(decoded.message).toBe(denied.message)
  })

  it("our deadline uses the kernel's tag with source deadline", () => {
    expect(ConnectError.deadline("unix:///run/x.sock", "darwin")).toMatchObject({
      _tag: "TimedOut", errno: "ETIMEDOUT", code: 60, source: "deadline", transient: true
    })
  })
})
