// Unreachable networks and hosts, prohibiting routes, broadcast and hosts that never answer ARP,
// from the real kernel inside a network namespace this test creates and removes. The connects
// run in a child `ip netns exec` process (a process cannot move its own threads' sockets into
// another namespace), over the built dist.
//
// The namespace: lo; a veth pair v0/v1, both up, with 198.51.100.1/25 on v0 and nothing on v1, so
// 198.51.100.2-126 are directly connected hosts that never answer ARP (broadcast .127);
// 198.51.100.128/25 has no route; 203.0.113.0/25 an `unreachable` route, 203.0.113.128/25 and
// 2001:db8:1::/48 `prohibit` routes; the rest of 2001:db8::/32 has no route; 255.255.255.255 goes
// to v0.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { canNetns, connectors, namespace } from "./child.js"

const ns = namespace("test")
const run = ns.run

describe.skipIf(!canNetns)("inside a network namespace the test made (skipped when not root or no `ip netns`)", () => {
  beforeAll(() => {
    const ip = ns.ip
    ns.add()
    ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    ip("link", "set", "v0", "up")
    ip("link", "set", "v1", "up")
    ip("addr", "add", "198.51.100.1/25", "brd", "+", "dev", "v0")
    ip("route", "add", "unreachable", "203.0.113.0/25")
    ip("route", "add", "prohibit", "203.0.113.128/25")
    ip("-6", "route", "add", "prohibit", "2001:db8:1::/48")
    // Limited broadcast needs a route to a device; v1 is in the namespace too.
    ip("route", "add", "255.255.255.255/32", "dev", "v0")
  })
  afterAll(ns.remove)

  it.each(connectors)("%s: no route is NetworkUnreachable; an unreachable route is HostUnreachable", (via) => {
    const out = run(`
for (const [key, address] of [["net", Address.tcp("198.51.100.200", 80)], ["host", Address.tcp("203.0.113.7", 80)], ["net6", Address.tcp("2001:db8::7", 80)]]) {
  out[key] = await flip(Connector.connect(address, { timeout: "3 seconds" }))
}`, undefined, via)
    expect(out.net).toMatchObject({
      _tag: "NetworkUnreachable", errno: "ENETUNREACH", code: 101, syscall: "connect",
      address: "tcp://198.51.100.200:80", transient: true
    })
    expect(out.host).toMatchObject({
      _tag: "HostUnreachable", errno: "EHOSTUNREACH", code: 113, syscall: "connect", address: "tcp://203.0.113.7:80"
    })
    expect(out.net6).toMatchObject({ _tag: "NetworkUnreachable", errno: "ENETUNREACH", address: "tcp://[2001:db8::7]:80" })
  })

  // The final contract: core's fromErrno calls an IP EACCES a prohibition unless the native side
  // found a broadcast destination (see fd.isBroadcastDenial).
  it("a prohibit route is PermissionDenied { reason: prohibited } for TCP and UDP, v4 and v6; a broadcast is { reason: broadcast }", () => {
    const out = run(`
out.tcp4 = await flip(Connector.connect(Address.tcp("203.0.113.200", 80)))
out.tcp6 = await flip(Connector.connect(Address.tcp("2001:db8:1::7", 80)))
const udp = (family, address) => flip(Effect.flatMap(Datagram.make(family), (d) => d.connect(address)))
out.udp4 = await udp("udp4", Address.tcp("203.0.113.200", 53))
out.udp6 = await udp("udp6", Address.tcp("2001:db8:1::7", 53))
out.limited = await udp("udp4", Address.tcp("255.255.255.255", 9))
out.directed = await udp("udp4", Address.tcp("198.51.100.127", 9))
out.allowed = await Effect.runPromise(Effect.scoped(Effect.flatMap(Datagram.make("udp4", { broadcast: true }), (d) => Effect.as(d.connect(Address.tcp("198.51.100.127", 9)), "ok"))))
`)
    const denied = { _tag: "PermissionDenied", errno: "EACCES", code: 13, syscall: "connect", transient: false }
    expect(out.tcp4).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://203.0.113.200:80" })
    expect(out.tcp6).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://[2001:db8:1::7]:80" })
    expect(out.udp4).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://203.0.113.200:53" })
    expect(out.udp6).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://[2001:db8:1::7]:53" })
    expect(out.limited).toMatchObject({ ...denied, reason: "broadcast", address: "tcp://255.255.255.255:9" })
    expect(out.directed).toMatchObject({ ...denied, reason: "broadcast", address: "tcp://198.51.100.127:9" })
    expect(out.allowed).toBe("ok")
  })

  it("NodeConnector (the fallback): a prohibit route is PermissionDenied { reason: prohibited }, v4 and v6", () => {
    const out = run(`
out.tcp4 = await flip(Connector.connect(Address.tcp("203.0.113.200", 80)))
out.tcp6 = await flip(Connector.connect(Address.tcp("2001:db8:1::7", 80)))
`, undefined, "NodeConnector")
    const denied = { _tag: "PermissionDenied", errno: "EACCES", code: 13, syscall: "connect", transient: false }
    expect(out.tcp4).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://203.0.113.200:80" })
    expect(out.tcp6).toMatchObject({ ...denied, reason: "prohibited", address: "tcp://[2001:db8:1::7]:80" })
  })

  // Many connects in flight to hosts that never answer ARP: the neighbour entries fail after about
  // 3 s and the kernel reports EHOSTUNREACH. A wake-up is no connection: each outcome is proven.
  it("many connects in flight to hosts that never answer ARP: none comes back connected", () => {
    const out = run(`
const hosts = (n) => Array.from({ length: n }, (_, i) => Address.tcp("198.51.100." + (2 + (i % 120)), 80))
const tally = (results) => results.reduce((m, r) => (m[r] = (m[r] ?? 0) + 1, m), {})
const outcome = (effect) => Effect.match(effect, { onFailure: (e) => e._tag, onSuccess: () => "connected" })
// Raw: connect, then writable and the proven outcome, polled again while the kernel says EALREADY.
const raw = (to) => Effect.scoped(Effect.gen(function*() {
  const s = yield* Raw.socket("inet", "stream")
  const started = yield* Effect.flip(Raw.connect(s, to))
  if (started._tag !== "InProgress") return "connect:" + started._tag
  for (let i = 0; i < 8; i++) {
    yield* Raw.writable(s)
    const proven = yield* outcome(Raw.pendingError(s, to))
    if (proven !== "AlreadyInProgress") return proven
  }
  return "still in progress"
}))
const [viaRaw, viaConnector] = await Effect.runPromise(Effect.all([
  Effect.forEach(hosts(120), (to) => Effect.timeoutOrElse(raw(to), { duration: "15 seconds", orElse: () => Effect.succeed("TimedOut") }), { concurrency: "unbounded" }),
  Effect.forEach(hosts(120), (to) => outcome(Effect.scoped(Connector.connect(to, { timeout: "15 seconds" }))), { concurrency: "unbounded" })
], { concurrency: 2 }).pipe(Effect.provide(NativeConnector.layer)))
out.raw = tally(viaRaw)
out.connector = tally(viaConnector)
`, 60_000)
    // The kernel rate-limits the ICMP errors it sends itself (icmp_msgs_burst), so a connect may
    // miss its EHOSTUNREACH and run into the 15 s deadline instead; neither is a connection.
    for (const tally of [out.raw, out.connector]) {
      expect(Object.keys(tally).filter((k) => k !== "HostUnreachable" && k !== "TimedOut")).toEqual([])
      expect(tally.HostUnreachable ?? 0).toBeGreaterThan(0)
      expect((tally.HostUnreachable ?? 0) + (tally.TimedOut ?? 0)).toBe(120)
    }
  }, 70_000)
})

// A namespace with no route to 255.255.255.255 (v0 with 198.51.100.1/25, no default route): a
// socket bound to 198.51.100.1 sends to 255.255.255.255 out of v0 with no route looked up, so its
// EACCES is the broadcast check's, while an unbound socket finds no route at all. The kernel's
// second opinion (fd.isBroadcastDenial) must come from the same local address.
const bound = namespace("bound")

describe.skipIf(!canNetns)("a datagram socket bound to an address of a namespace the test made (skipped when not root or no `ip netns`)", () => {
  beforeAll(() => {
    bound.add()
    bound.ip("link", "add", "v0", "type", "veth", "peer", "name", "v1")
    bound.ip("link", "set", "v0", "up")
    bound.ip("link", "set", "v1", "up")
    bound.ip("addr", "add", "198.51.100.1/25", "brd", "+", "dev", "v0")
  })
  afterAll(bound.remove)

  it("255.255.255.255 without broadcast is PermissionDenied { reason: broadcast }, bound or re-associated; with broadcast it connects", () => {
    const out = bound.run(`
const local = Address.tcp("198.51.100.1", 0)
const limited = Address.tcp("255.255.255.255", 9)
out.bound = await flip(Effect.flatMap(Datagram.make("udp4", { local }), (d) => d.connect(limited)))
// Associated with a host of v0 first, the socket has 198.51.100.1 as its source from then on.
out.reassociated = await flip(Effect.flatMap(Datagram.make("udp4"), (d) => Effect.andThen(d.connect(Address.tcp("198.51.100.5", 9)), d.connect(limited))))
out.unbound = await flip(Effect.flatMap(Datagram.make("udp4"), (d) => d.connect(limited)))
out.allowed = await Effect.runPromise(Effect.scoped(Effect.flatMap(Datagram.make("udp4", { local, broadcast: true }), (d) => Effect.as(d.connect(limited), "ok"))))
`)
    const denied = { _tag: "PermissionDenied", errno: "EACCES", code: 13, syscall: "connect", transient: false, address: "tcp://255.255.255.255:9" }
    expect(out.bound).toMatchObject({ ...denied, reason: "broadcast" })
    expect(out.reassociated).toMatchObject({ ...denied, reason: "broadcast" })
    // Unbound, no route: the kernel's ENETUNREACH, no EACCES to explain.
    expect(out.unbound).toMatchObject({ _tag: "NetworkUnreachable", errno: "ENETUNREACH", address: "tcp://255.255.255.255:9" })
    expect(out.allowed).toBe("ok")
  })
})
