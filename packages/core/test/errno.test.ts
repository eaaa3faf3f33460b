import { Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
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

  // Node's os.constants.errno lacks a few (EHOSTDOWN): the kernel's own header has them all.
  const headers = ["/usr/include/asm-generic/errno-base.h", "/usr/include/asm-generic/errno.h"]
  it.skipIf(process.platform !== "linux" || !headers.every(existsSync))(
    "agrees with this kernel's numbers (os.constants.errno, else asm-generic/errno*.h)",
    () => {
      const header = new Map(
        headers.flatMap((h) => [...readFileSync(h, "utf8").matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)/gm)])
          .map((m) => [m[1]!, Number(m[2])])
      )
      for (const name of Errno.names) {
        expect([name, Errno.table[name].linux]).toEqual([name, (constants.errno as Record<string, number>)[name] ?? header.get(name)])
      }
    }
  )

  it("the rows the BSDs number differently, from their sys/errno.h", () => {
    expect(
      (["ENOPROTOOPT", "ENETDOWN", "EHOSTDOWN", "ECONNABORTED", "EOPNOTSUPP", "EPROTO", "EMSGSIZE"] as const)
        .map((name) => [name, Errno.table[name].tag, Errno.table[name].linux, Errno.table[name].darwin, Errno.table[name].freebsd])
    ).toEqual([
      ["ENOPROTOOPT", "ProtocolNotAvailable", 92, 42, 42],
      ["ENETDOWN", "NetworkDown", 100, 50, 50],
      ["EHOSTDOWN", "HostDown", 112, 64, 64],
      ["ECONNABORTED", "ConnectionAborted", 103, 53, 53],
      ["EOPNOTSUPP", "OperationNotSupported", 95, 102, 45],
      ["EPROTO", "ProtocolError", 71, 100, 92],
      ["EMSGSIZE", "MessageTooLong", 90, 40, 40]
    ])
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
    expect(byName.message).toBe("connect tcp://127.0.0.1:5432 failed with ESTALE")
    const named = ConnectError.fromErrno(18, { ...context, errnoName: "EXDEV" })
    expect(named).toMatchObject({ _tag: "UnknownErrno", errno: "EXDEV", code: 18, transient: false })
    expect(named.message).toBe("connect tcp://127.0.0.1:5432 failed with EXDEV (errno 18)")
    // nobody could name it: said as a number, once
    const byNumber = ConnectError.fromErrno(4242, context)
    expect(byNumber).toMatchObject({ _tag: "UnknownErrno", errno: "4242", code: 4242, transient: false })
    expect(byNumber.message).toBe("connect tcp://127.0.0.1:5432 failed with errno 4242")
  })

  it("an ICMP protocol-unreachable reject is ENOPROTOOPT by name, not errno 92", () => {
    const error = ConnectError.fromErrno(92, { ...context, kind: "inet" })
    expect(error).toBeInstanceOf(ConnectError.ProtocolNotAvailable)
    expect(error).toMatchObject({ _tag: "ProtocolNotAvailable", errno: "ENOPROTOOPT", code: 92, transient: false })
    expect(error.message).toBe(
      "connect tcp://127.0.0.1:5432 failed with ENOPROTOOPT: the protocol is not available (on a connect, an ICMP " +
        "protocol-unreachable reject: a firewall rule (REJECT --reject-with icmp-proto-unreachable) or a peer without " +
        "this protocol; on setsockopt, an option this socket lacks)"
    )
    expect(ConnectError.fromErrno(42, { ...context, kind: "inet", platform: "darwin" })).toMatchObject({ errno: "ENOPROTOOPT", code: 42 })
  })

  it("hints name only the family's causes", () => {
    const tcp = ConnectError.fromErrno("ECONNREFUSED", { ...context, kind: "inet" })
    expect(tcp.message).toBe(
      "connect tcp://127.0.0.1:5432 failed with ECONNREFUSED: the peer refused the connection (nothing is listening on that port)"
    )
    const unix = ConnectError.fromErrno("ECONNREFUSED", { ...context, kind: "unix", address: "unix:///run/app.sock" })
    expect(unix.message).toBe(
      "connect unix:///run/app.sock failed with ECONNREFUSED: the peer refused the connection (the socket file exists " +
        "but nothing listens on it: a stale socket, left behind by a server that is gone)"
    )
    const abstract = ConnectError.fromErrno("ECONNREFUSED", { ...context, kind: "unix", address: "unix-abstract:app" })
    // An abstract name has no file: nothing stale is left behind when its server exits.
    expect(abstract.message).toBe(
      "connect unix-abstract:app failed with ECONNREFUSED: the peer refused the connection (no socket is bound to this " +
        "abstract name: its server has not started, or has exited)"
    )
    for (const name of Errno.names) {
      const row: Errno.Row = Errno.table[name]
      const abstract = Errno.hintOf(row, "abstract") ?? ""
      expect([name, row.hint?.ip ?? ""]).not.toEqual([name, expect.stringMatching(/unix|socket file|stale|directory/)])
      expect([name, row.hint?.unix ?? ""]).not.toEqual([name, expect.stringMatching(/port|route|firewall|ICMP|IPv6|ARP/)])
      expect([name, abstract]).not.toEqual([name, expect.stringMatching(/port|route|firewall|ICMP|IPv6|ARP|socket file|stale/)])
    }
  })

  it("a unix path's diagnosis decides whether the error is transient", () => {
    const unix = { kind: "unix", syscall: "connect", address: "unix:///run/app.sock", platform: "linux" } as const
    const transient = (errno: string, component: string, problem: ConnectError.PathProblem) =>
      ConnectError.fromErrno(errno, { ...unix, diagnosis: { component, problem } }).transient
    expect([
      transient("ECONNREFUSED", "/run/app.sock", "not-a-socket"),
      transient("ECONNREFUSED", "/run/app.sock", "stale-socket"),
      transient("ENOENT", "/run", "missing-directory"),
      transient("ENOENT", "/run/app.sock", "missing-socket"),
      transient("EACCES", "/run", "search-denied"),
      transient("EACCES", "/run/app.sock", "write-denied"),
      transient("ENOTDIR", "/run", "not-a-directory"),
      transient("ELOOP", "/run", "symlink-loop")
    ]).toEqual([false, true, true, true, false, false, false, false])
    expect(ConnectError.fromErrno("ECONNREFUSED", { ...unix, diagnosis: { component: "/run/app.sock", problem: "not-a-socket" } }).message)
      .toBe(
        "connect unix:///run/app.sock failed with ECONNREFUSED: /run/app.sock: a regular file or a directory, not a socket: " +
          "no server can listen here until it is removed"
      )
  })

  it("EACCES over IP is a prohibition unless the caller says broadcast; each reason has its own hint", () => {
    const udp = { ...context, kind: "datagram", address: "tcp://198.51.100.7:9" } as const
    const prohibited = ConnectError.fromErrno("EACCES", udp)
    expect(prohibited).toMatchObject({ _tag: "PermissionDenied", reason: "prohibited", transient: false })
    expect(prohibited.message).toBe(
      "connect tcp://198.51.100.7:9 failed with EACCES: permission denied, prohibited (a route of type prohibit or " +
        "unreachable-by-policy, or a firewall rule, forbids this destination)"
    )
    expect(ConnectError.fromErrno("EACCES", { ...context, kind: "inet" })).toMatchObject({ reason: "prohibited" })
    const broadcast = ConnectError.fromErrno("EACCES", { ...udp, address: "tcp://127.255.255.255:9", permission: "broadcast" })
    expect(broadcast).toMatchObject({ reason: "broadcast" })
    expect(broadcast.message).toBe(
      "connect tcp://127.255.255.255:9 failed with EACCES: permission denied, broadcast (a broadcast address needs SO_BROADCAST on the socket)"
    )
    const unixDatagram = ConnectError.fromErrno("EACCES", { ...udp, address: "unix:///run/log.sock" })
    expect(unixDatagram).toMatchObject({ reason: "unknown" })
    expect(unixDatagram.message).toContain("search permission on every directory")
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
    expect(ConnectError.fromErrno("EACCES", { ...context, kind: "datagram" })).toMatchObject({ reason: "prohibited" })
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
    // A local host with port 0: bind(2) picks an ephemeral port, and EADDRINUSE says none was free.
    const hostOnly = { ...context, localChosen: { host: true, port: false } }
    expect(ConnectError.fromErrno("EADDRINUSE", hostOnly).transient).toBe(true)
    expect(ConnectError.fromErrno("EADDRNOTAVAIL", hostOnly).transient).toBe(false)
    const portOnly = { ...context, localChosen: { host: false, port: true } }
    expect(ConnectError.fromErrno("EADDRINUSE", portOnly).transient).toBe(false)
    expect(ConnectError.fromErrno("EADDRNOTAVAIL", portOnly).transient).toBe(false)
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

  it("our deadline uses the kernel's tag with source deadline, and never the kernel's story", () => {
    const error = ConnectError.deadline("unix:///run/x.sock", "darwin")
    expect(error).toMatchObject({ _tag: "TimedOut", errno: "ETIMEDOUT", code: 60, source: "deadline", transient: true })
    expect(error.message).toBe("connect unix:///run/x.sock: the deadline passed before the connect finished")
  })

  it("a deadline's cause is the JavaScript Error.cause too, and survives encode and decode", () => {
    const refused = ConnectError.withAttempts(ConnectError.fromErrno("ECONNREFUSED", { ...context, kind: "inet" }), 14)
    const error = ConnectError.deadline("tcp://127.0.0.1:5432", "linux", { scope: "overall", elapsed: 1000, attempts: 14, cause: refused })
    expect((error as Error).cause).toBe(refused)
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(ConnectError.TimedOut)(error)))
    expect(encoded).toEqual({
      _tag: "TimedOut", errno: "ETIMEDOUT", code: 110, syscall: "connect", address: "tcp://127.0.0.1:5432", transient: true,
      source: "deadline", scope: "overall", elapsed: 1000, attempts: 14,
      cause: {
        _tag: "ConnectionRefused", errno: "ECONNREFUSED", code: 111, syscall: "connect", address: "tcp://127.0.0.1:5432",
        transient: true, attempts: 14
      }
    })
    const decoded = Schema.decodeUnknownSync(ConnectError.TimedOut)(encoded)
    expect(decoded.cause).toBeInstanceOf(ConnectError.ConnectionRefused)
    expect(decoded.message).toBe(error.message)
    expect(decoded.message).toBe(
      "connect tcp://127.0.0.1:5432: gave up after 1.0 s and 14 attempts; the last failed with ECONNREFUSED: " +
        "the peer refused the connection (nothing is listening on that port)"
    )
    // a cause of no class of ours: its tag and message
    const foreign = ConnectError.deadline("db", "linux", { scope: "overall", elapsed: 10, attempts: 1, cause: new TypeError("boom") })
    const again = Schema.decodeUnknownSync(ConnectError.TimedOut)(JSON.parse(JSON.stringify(Schema.encodeSync(ConnectError.TimedOut)(foreign))))
    expect(again.cause).toEqual({ _tag: "Error", message: "boom" })
    expect(again.message).toBe("connect db: gave up after 10 ms and 1 attempt; the last failed: boom")
  })

  it("deadline skips Schema's validation only for fields of the right types: anything else is still refused", () => {
    const junk: ReadonlyArray<[unknown, unknown]> = [
      ["db", { elapsed: "1 second" }],
      ["db", { scope: "forever" }],
      ["db", { attempts: null }]
    ]
    for (const [address, details] of junk) {
      expect(() => ConnectError.deadline(address as string, "linux", details as ConnectError.DeadlineDetails)).toThrow(/TimedOut \(Constructor\)/)
    }
    expect(() => ConnectError.deadline(5 as unknown as string, "linux")).toThrow("ConnectError.deadline: address must be a string (Address.format's form), got 5")
    // and withAttempts re-checks what it adds
    const refused = ConnectError.fromErrno("ECONNREFUSED", { ...context, kind: "inet" })
    expect(() => ConnectError.withAttempts(refused, "3" as unknown as number)).toThrow(/ConnectionRefused \(Constructor\)/)
    expect(ConnectError.withAttempts(refused, 3)).toMatchObject({ _tag: "ConnectionRefused", attempts: 3 })
  })
})
