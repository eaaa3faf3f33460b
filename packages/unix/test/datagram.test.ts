// A unix datagram socket that is connected to a peer takes datagrams from that peer only: a
// connect or a send to it from another socket is EPERM (Linux's unix_may_send), and the error
// says so rather than blaming a security module.
import { Address, Errno } from "@effect-connect/core"
import { Datagram } from "@effect-connect/native"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { tempDir } from "../../native/test/support.js"

const hint = Errno.hintOf(Errno.table.EPERM, "unix")

describe.skipIf(process.platform !== "linux")("a unix datagram peer connected to another socket (Linux)", () => {
  it.live("a connect to it, and a send to it once it has connected elsewhere: EPERM, naming the association", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const server = Address.unix(join(dir, "server.sock"))
      const other = Address.unix(join(dir, "other.sock"))
      const serverSocket = yield* Datagram.make("unix", { local: server })
      yield* Datagram.make("unix", { local: other })
      const early = yield* Datagram.make("unix", { local: Address.unix(join(dir, "early.sock")) })
      // Associated while the server still takes datagrams from anybody.
      yield* early.connect(server)
      yield* serverSocket.connect(other)

      const late = yield* Datagram.make("unix")
      const refused = yield* Effect.flip(late.connect(server))
      expect(refused).toMatchObject({ _tag: "OperationNotPermitted", errno: "EPERM", syscall: "connect", transient: false })
      expect(refused.message).toBe(
        `connect ${Address.format(server)} failed with EPERM: the operation is not permitted (` +
          "a datagram socket that is connected to another peer takes datagrams from that peer only; " +
          "otherwise a security module (seccomp, SELinux, AppArmor, a BPF hook) rejected it)"
      )
      const send = yield* Effect.flip(early.send(new Uint8Array([1])))
      expect(send).toMatchObject({ _tag: "OperationNotPermitted", errno: "EPERM", syscall: "send" })
      expect(send.message).toContain(`(${hint})`)
    }))

  it.live("an abstract name's datagram peer: the same", () =>
    Effect.gen(function*() {
      const name = `ec-test-dgram-${process.pid}-${Math.random()}`
      const server = yield* Datagram.make("unix", { local: Address.abstract(name) })
      yield* Datagram.make("unix", { local: Address.abstract(`${name}-other`) })
      yield* server.connect(Address.abstract(`${name}-other`))
      const refused = yield* Effect.flip((yield* Datagram.make("unix")).connect(Address.abstract(name)))
      expect(refused).toMatchObject({ _tag: "OperationNotPermitted", errno: "EPERM", syscall: "connect" })
      expect(refused.message).toContain("connected to another peer takes datagrams from that peer only")
    }))
})
