// The kernel's own recipes for the connect errnos of IP, stream and datagram, through the public
// API, each asserting the whole error. Namespaced recipes run in one child per namespace and
// connector (see child.ts), started in beforeAll, with every connect of the namespace at once;
// each `it` then checks its own result. Every stream recipe runs through both connectors, the
// NodeConnector one as NativeConnector.layer's fallback (the addon kept from loading); where the
// two differ, the test says why. Datagrams need the addon: NativeConnector's runs only. The recipes of the other test files are not repeated here: no route, an
// `unreachable` or `prohibit` route and broadcast (netns.test.ts), SYNs dropped (ETIMEDOUT) and a
// reset before accept (errno.kernel.test.ts), state errors and seccomp-injected errnos
// (errno.tagged.test.ts), ENOTCONN and EDESTADDRREQ (datagram.test.ts); AF_UNIX is in
// packages/unix/test/recipes.test.ts.
//
// What Linux does not give on these paths, checked while writing this: a TCP SYN dropped by an
// OUTPUT rule is no EPERM (TCP retransmits, then ETIMEDOUT: only a datagram's send sees the
// hook's EPERM); a link set down takes its routes with it (ENETUNREACH, never ENETDOWN); IPv6
// disabled by sysctl leaves socket(AF_INET6) working (EADDRNOTAVAIL, never EAFNOSUPPORT).
import { Address } from "@effect-connect/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { afterAll, beforeAll } from "vitest"
import { Datagram } from "@effect-connect/native"
import { canNetns, connectors, namespace, runChild } from "./child.js"

const canNft = canNetns && spawnSync("nft", ["--version"]).status === 0
const canPrlimit = spawnSync("prlimit", ["--version"]).status === 0

/** An error as the child printed it: every field exactly, and the message saying `says`. */
const expectError = (
  got: { readonly message?: string } | undefined,
  fields: Record<string, unknown>,
  ...says: ReadonlyArray<string>
) => {
  expect(got).toBeDefined()
  const { message, ...rest } = got!
  expect(rest).toEqual(fields)
  for (const s of says) expect(message).toContain(s)
}

const inet = (errno: string, code: number, transient: boolean, address: string, syscall = "connect") => ({
  errno, code, transient, address, syscall
})

// Linux's icmp_err_convert for a SYN answered by ICMP destination-unreachable, by code; the
// rejects come from nft (`reject with icmp <code>`; iptables' REJECT offers only some codes).
// Code 4 (fragmentation needed) is a path MTU update, not an error: left out. Code 8 (host
// isolated) is ENONET, which the table lacks: its own test below.
const icmp = [
  [0, "net-unreachable", "NetworkUnreachable", "ENETUNREACH", 101, true, "ICMP net-unreachable"],
  [1, "host-unreachable", "HostUnreachable", "EHOSTUNREACH", 113, true, "ICMP host-unreachable"],
  [2, "prot-unreachable", "ProtocolNotAvailable", "ENOPROTOOPT", 92, false, "ICMP protocol-unreachable"],
  [3, "port-unreachable", "ConnectionRefused", "ECONNREFUSED", 111, true, "nothing is listening on that port"],
  [5, "source-route-failed", "OperationNotSupported", "EOPNOTSUPP", 95, false, "ICMP source-route-failed"],
  [6, "net-unknown", "NetworkUnreachable", "ENETUNREACH", 101, true, "ICMP net-unreachable"],
  [7, "host-unknown", "HostDown", "EHOSTDOWN", 112, true, "ICMP host-unknown"],
  [9, "net-prohibited", "NetworkUnreachable", "ENETUNREACH", 101, true, "net-prohibited"],
  [10, "host-prohibited", "HostUnreachable", "EHOSTUNREACH", 113, true, "host-prohibited"],
  [11, "net-unreachable-for-tos", "NetworkUnreachable", "ENETUNREACH", 101, true, "ICMP net-unreachable"],
  [12, "host-unreachable-for-tos", "HostUnreachable", "EHOSTUNREACH", 113, true, "ICMP host-unreachable"],
  [13, "admin-prohibited", "HostUnreachable", "EHOSTUNREACH", 113, true, "admin-prohibited"],
  [14, "precedence-violation", "HostUnreachable", "EHOSTUNREACH", 113, true, "ICMP host-unreachable"],
  [15, "precedence-cutoff", "HostUnreachable", "EHOSTUNREACH", 113, true, "ICMP host-unreachable"]
] as const

// The firewall namespace: 198.51.100.1/24 on v0 (a veth pair, both ends up), an nft table that
// rejects TCP to 198.51.100.1 port 1000+code with ICMP `code`, resets port 1100, drops port 1101
// (TCP and UDP) and rejects UDP to port 1102 with protocol-unreachable on the way in (so the
// packet leaves, and the ICMP comes back to the socket); a `blackhole` route 203.0.113.64/26 and a
// `throw` route 203.0.113.16/28; and v2 with 203.0.113.241/28 and 2001:db8:9::1/64, set down.
const codes = [...icmp.map(([code]) => code), 8]
const ruleset = `
table ip recipes {
  chain out {
    type filter hook output priority 0;
${codes.map((code) => `    ip daddr 198.51.100.1 tcp dport ${1000 + code} reject with icmp ${code}`).join("\n")}
    ip daddr 198.51.100.1 tcp dport 1100 reject with tcp reset
    ip daddr 198.51.100.1 tcp dport 1101 drop
    ip daddr 198.51.100.1 udp dport 1101 drop
  }
  chain in {
    type filter hook input priority 0;
    ip daddr 198.51.100.1 udp dport 1102 reject with icmp 2
  }
}
`

const firewallBody = `
const { Stream } = await import("effect")
const tcp = (host, port, options = {}) => flip(Connector.connect(Address.tcp(host, port), { timeout: "3 seconds", ...options }))
// A datagram's ICMP error comes back on the socket: the receive after a send reports it.
const udpAfterSend = (host, port) => flip(Effect.gen(function*() {
  const d = yield* Datagram.make("udp4")
  yield* d.connect(Address.tcp(host, port))
  yield* d.send(new Uint8Array([1]))
  return yield* d.receive.pipe(Stream.runHead)
}))
const udpConnect = (host, port) => flip(Effect.flatMap(Datagram.make("udp4"), (d) => d.connect(Address.tcp(host, port))))
const cases = {
  ${codes.map((code) => `icmp${code}: () => tcp("198.51.100.1", ${1000 + code})`).join(",\n  ")},
  reset: () => tcp("198.51.100.1", 1100),
  dropTcp: () => tcp("198.51.100.1", 1101, { timeout: "300 millis" }),
  blackhole: () => tcp("203.0.113.70", 80),
  throwRoute: () => tcp("203.0.113.20", 80),
  linkDown: () => tcp("203.0.113.242", 80),
  linkDown6: () => tcp("2001:db8:9::2", 80),
  ...(withDatagrams ? {
    dropUdp: () => udpAfterSend("198.51.100.1", 1101),
    protoUdp: () => udpAfterSend("198.51.100.1", 1102),
    refusedUdp: () => udpAfterSend("198.51.100.1", 9),
    blackholeUdp: () => udpConnect("203.0.113.70", 80)
  } : {})
}
await Promise.all(Object.entries(cases).map(async ([key, run]) => { out[key] = await run() }))
`

describe.skipIf(!canNft)(
  `ICMP rejects, firewall drops and route types in a namespace${canNft ? "" : " (skipped: needs root, `ip netns` and nft)"}`,
  () => {
    const ns = namespace("recipes")
    const out: Record<string, Record<string, { readonly message?: string }>> = {}
    beforeAll(() => {
      ns.add()
      ns.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
      ns.ip("link", "set", "v0", "up")
      ns.ip("link", "set", "v1", "up")
      ns.ip("addr", "add", "198.51.100.1/24", "dev", "v0")
      ns.ip("route", "add", "blackhole", "203.0.113.64/26")
      ns.ip("route", "add", "throw", "203.0.113.16/28")
      ns.ip("link", "add", "v2", "type", "veth", "peer", "name", "v3")
      ns.ip("addr", "add", "203.0.113.241/28", "dev", "v2")
      ns.ip("-6", "addr", "add", "2001:db8:9::1/64", "dev", "v2", "nodad")
      ns.ip("link", "set", "v2", "up")
      ns.ip("link", "set", "v2", "down")
      ns.exec(["nft", "-f", "-"], ruleset)
      for (const via of connectors) out[via] = ns.run(firewallBody, undefined, via)
    })
    afterAll(ns.remove)

    it.each(connectors.flatMap((via) => icmp.map((row) => [via, ...row] as const)))(
      "%s: a SYN answered with ICMP code %i (%s) is %s",
      (via, code, _name, tag, errno, number, transient, says) => {
        expectError(out[via]![`icmp${code}`], {
          _tag: tag, ...inet(errno, number, transient, `tcp://198.51.100.1:${1000 + code}`)
        }, says)
      }
    )

    it.each(connectors)("%s: a SYN answered with ICMP code 8 (host-isolated) is UnknownErrno { errno: ENONET }, its name kept", (via) => {
      expectError(out[via]!.icmp8, {
        _tag: "UnknownErrno", ...inet("ENONET", 64, false, "tcp://198.51.100.1:1008")
      }, "failed with ENONET (errno 64)")
    })

    it.each(connectors)("%s: a SYN answered with a TCP reset by a firewall: ConnectionRefused, as a closed port", (via) => {
      expectError(out[via]!.reset, { _tag: "ConnectionRefused", ...inet("ECONNREFUSED", 111, true, "tcp://198.51.100.1:1100") },
        "nothing is listening on that port")
    })

    // Datagrams need the addon: NodeConnector has none.
    it.each([
      ["a datagram dropped by an OUTPUT rule: the send is OperationNotPermitted (the netfilter hook's EPERM)", "dropUdp",
        "OperationNotPermitted", "EPERM", 1, false, 1101, "send", "a firewall rule"],
      ["a datagram rejected on the way in with ICMP protocol-unreachable: the receive is ProtocolNotAvailable", "protoUdp",
        "ProtocolNotAvailable", "ENOPROTOOPT", 92, false, 1102, "recv", "ICMP protocol-unreachable"],
      ["a datagram to a port nobody listens on: the receive is ConnectionRefused", "refusedUdp",
        "ConnectionRefused", "ECONNREFUSED", 111, true, 9, "recv", "nothing is listening on that port"]
    ] as const)("%s", (_name, key, tag, errno, code, transient, port, syscall, says) => {
      expectError(out.NativeConnector![key], { _tag: tag, ...inet(errno, code, transient, `tcp://198.51.100.1:${port}`, syscall) }, says)
    })

    it.each(connectors)("%s: a TCP SYN dropped by an OUTPUT rule is no EPERM: TCP retransmits until our deadline", (via) => {
      const { elapsed, ...rest } = out[via]!.dropTcp as { readonly elapsed: number }
      expect(elapsed).toBeGreaterThanOrEqual(300)
      expectError(rest, {
        _tag: "TimedOut", ...inet("ETIMEDOUT", 110, true, "tcp://198.51.100.1:1101"), source: "deadline", scope: "attempt"
      }, "the per-attempt timeout")
    })

    it.each(connectors)("%s: a blackhole route is InvalidArgument (Linux's EINVAL), and the message says blackhole", (via) => {
      const fields = { _tag: "InvalidArgument", ...inet("EINVAL", 22, false, "tcp://203.0.113.70:80") }
      expectError(out[via]!.blackhole, fields, "a route of type blackhole")
    })

    it("a blackhole route for a datagram's connect is InvalidArgument too (NativeConnector's Datagram only)", () => {
      const fields = { _tag: "InvalidArgument", ...inet("EINVAL", 22, false, "tcp://203.0.113.70:80") }
      expectError(out.NativeConnector!.blackholeUdp, fields, "a route of type blackhole")
    })

    it.each(connectors.flatMap((via) => [
      [via, "a throw route", "throwRoute", "tcp://203.0.113.20:80", "check the routing table"],
      [via, "a link set down takes its routes with it (never ENETDOWN)", "linkDown", "tcp://203.0.113.242:80", "a link set down"],
      [via, "a link set down, IPv6", "linkDown6", "tcp://[2001:db8:9::2]:80", "a link set down"]
    ] as const))("%s: %s: NetworkUnreachable", (via, _name, key, address, says) => {
      expectError(out[via]![key], { _tag: "NetworkUnreachable", ...inet("ENETUNREACH", 101, true, address) }, says)
    })
  }
)

// Ephemeral ports narrowed to two (40000-40001) in a namespace of its own, with a listener in the
// child on 127.0.0.1:7000: two connects take both ports, and are held while the rest run.
const portsBody = `
const { createServer } = await import("node:net")
const server = createServer(() => {})
await new Promise((resolve) => server.listen(7000, "127.0.0.1", resolve))
const to = Address.tcp("127.0.0.1", 7000)
const failure = (effect) => Effect.map(Effect.flip(effect), (e) => ({ ...e, message: e.message }))
Object.assign(out, await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const held = []
  for (let i = 0; i < 2; i++) held.push(Address.format((yield* Connector.connect(to)).local))
  const tcp = {
    held,
    exhausted: yield* failure(Connector.connect(to)),
    portTaken: yield* failure(Connector.connect(to, { local: { host: "127.0.0.1", port: 7000 } })),
    hostOnly: yield* failure(Connector.connect(to, { local: { host: "127.0.0.1" } }))
  }
  if (!withDatagrams) return tcp
  const udp = (options) => Effect.flatMap(Datagram.make("udp4", options), (d) => d.connect(Address.tcp("127.0.0.1", 9)))
  const udpHeld = []
  for (let i = 0; i < 2; i++) udpHeld.push(yield* Effect.flatMap(Datagram.make("udp4"), (d) => Effect.andThen(d.connect(Address.tcp("127.0.0.1", 9)), d.local)))
  return {
    ...tcp,
    udpHeld: udpHeld.map(Address.format),
    udpExhausted: yield* failure(udp({})),
    udpHostOnly: yield* failure(udp({ local: Address.tcp("127.0.0.1", 0) }))
  }
})).pipe(Effect.provide(NativeConnector.layer))))
server.close()
`

describe.skipIf(!canNetns)(
  `ephemeral ports exhausted in a namespace${canNetns ? "" : " (skipped: needs root and `ip netns`)"}`,
  () => {
    // A namespace per connector: the first one's closed connections hold both ports in TIME_WAIT.
    const spaces = connectors.map((via) => [via, namespace(`ports-${via === "NativeConnector" ? "native" : "node"}`)] as const)
    const all: Record<string, Record<string, { readonly message?: string }>> = {}
    let out: Record<string, { readonly message?: string }> = {}
    beforeAll(() => {
      for (const [via, ns] of spaces) {
        ns.add()
        ns.exec(["sysctl", "-qw", "net.ipv4.ip_local_port_range=40000 40001"])
        all[via] = ns.run(portsBody, undefined, via)
      }
      out = all.NativeConnector!
    })
    afterAll(() => spaces.forEach(([, ns]) => ns.remove()))

    it.each(connectors)("%s: TCP, the caller not binding: AddressNotAvailable, transient, and the message names ip_local_port_range", (via) => {
      expect(all[via]!.held).toEqual(["tcp://127.0.0.1:40000", "tcp://127.0.0.1:40001"])
      expectError(all[via]!.exhausted, {
        _tag: "AddressNotAvailable", ...inet("EADDRNOTAVAIL", 99, true, "tcp://127.0.0.1:7000")
      }, "net.ipv4.ip_local_port_range")
    })

    it.each(connectors)("%s: TCP bound to a chosen local port already in use: AddressInUse from bind, permanent", (via) => {
      expectError(all[via]!.portTaken, {
        _tag: "AddressInUse", ...inet("EADDRINUSE", 98, false, "tcp://127.0.0.1:7000", "bind")
      }, "permanent when you chose the local port")
    })

    // libuv sets SO_REUSEADDR before it binds: its bind(2) may take a port that a connection to
    // the same peer holds, and the connect(2) finds that connection's 4-tuple taken.
    it.each([["NativeConnector", "bind"], ["NodeConnector", "connect"]] as const)(
      "%s: TCP bound to a chosen local host only: AddressInUse from %s, transient (the kernel chose the port)",
      (via, syscall) => {
        expectError(all[via]!.hostOnly, {
          _tag: "AddressInUse", ...inet("EADDRINUSE", 98, true, "tcp://127.0.0.1:7000", syscall)
        }, "no ephemeral port was free")
      }
    )

    it("UDP, the caller not binding: connect's autobind is TryAgain { reason: ports-exhausted }, transient", () => {
      expect(out.udpHeld).toEqual(expect.arrayContaining(["tcp://127.0.0.1:40000", "tcp://127.0.0.1:40001"]))
      expectError(out.udpExhausted, {
        _tag: "TryAgain", ...inet("EAGAIN", 11, true, "tcp://127.0.0.1:9"), reason: "ports-exhausted"
      }, "no ephemeral port is free")
    })

    it("UDP bound to a local host with port 0: AddressInUse from bind, transient (the port was the kernel's choice)", () => {
      expectError(out.udpHostOnly, {
        _tag: "AddressInUse", ...inet("EADDRINUSE", 98, true, "tcp://127.0.0.1:0", "bind")
      }, "no ephemeral port was free")
    })
  }
)

describe.skipIf(!canNetns)(
  `IPv6 disabled by sysctl in a namespace${canNetns ? "" : " (skipped: needs root and `ip netns`)"}`,
  () => {
    const ns = namespace("noipv6")
    const out: Record<string, Record<string, { readonly message?: string }>> = {}
    beforeAll(() => {
      ns.add()
      ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
      for (const via of connectors) {
        out[via] = ns.run(`
out.tcp = await flip(Connector.connect(Address.tcp("::1", 80)))
if (withDatagrams) out.udp = await flip(Effect.flatMap(Datagram.make("udp6"), (d) => d.connect(Address.tcp("2001:db8::1", 53))))
`, undefined, via)
      }
    })
    afterAll(ns.remove)

    it.each(connectors)("%s: socket(AF_INET6) still works; the connect has no source address: AddressNotAvailable, and the message says IPv6 is off", (via) => {
      expectError(out[via]!.tcp, { _tag: "AddressNotAvailable", ...inet("EADDRNOTAVAIL", 99, true, "tcp://[::1]:80") }, "disable_ipv6")
    })

    it("the same for a datagram socket's connect (NativeConnector's Datagram only)", () => {
      expectError(out.NativeConnector!.udp, {
        _tag: "AddressNotAvailable", ...inet("EADDRNOTAVAIL", 99, true, "tcp://[2001:db8::1]:53")
      }, "disable_ipv6")
    })
  }
)

describe("recipes on this host's loopback", () => {
  it.effect("a UDP socket of one family connected to the other's address: AddressFamilyNotSupported", () =>
    Effect.gen(function*() {
      const d = yield* Datagram.make("udp4")
      const error = yield* Effect.flip(d.connect(Address.tcp("::1", 9)))
      expect({ ...error }).toEqual({
        _tag: "AddressFamilyNotSupported", ...inet("EAFNOSUPPORT", 97, false, "tcp://[::1]:9")
      })
    }))

  it.effect("a UDP datagram larger than 65507 bytes: MessageTooLong from send", () =>
    Effect.gen(function*() {
      const d = yield* Datagram.make("udp4")
      yield* d.connect(Address.tcp("127.0.0.1", 9))
      const error = yield* Effect.flip(d.send(new Uint8Array(65508)))
      expect({ ...error }).toEqual({ _tag: "MessageTooLong", ...inet("EMSGSIZE", 90, false, "tcp://127.0.0.1:9", "send") })
    }))

  // NodeConnector's socket(2) is libuv's, inside its connect: Node reports the connect syscall.
  it.skipIf(!canPrlimit).each([["NativeConnector", "socket"], ["NodeConnector", "connect"]] as const)(
    `%s: every descriptor in use under a lowered RLIMIT_NOFILE: TooManyOpenFiles { scope: process } from %s${canPrlimit ? "" : " (skipped: no prlimit)"}`,
    (via, syscall) => {
      const out = runChild(`
// The addon loaded while a descriptor is free to open it.
if (withDatagrams) await Effect.runPromise(Addon.check)
const { openSync, closeSync } = await import("node:fs")
const held = []
try { for (let i = 0; i < 512; i++) held.push(openSync("/dev/null", "r")) } catch {}
out.error = await flip(Connector.connect(Address.tcp("127.0.0.1", 1)))
for (const fd of held) closeSync(fd)
out.after = await flip(Connector.connect(Address.tcp("127.0.0.1", 1)))
`, { wrap: ["prlimit", "--nofile=256:256"], via })
      expectError(out.error, {
        _tag: "TooManyOpenFiles", ...inet("EMFILE", 24, true, "tcp://127.0.0.1:1", syscall), scope: "process"
      }, "RLIMIT_NOFILE")
      // The descriptors given back, the same connect reaches the kernel again.
      expect(out.after).toMatchObject({ _tag: "ConnectionRefused" })
    }
  )
})
