#!/usr/bin/env node
/**
 * wait-for: blocks until every endpoint accepts a connection, retrying only transient errors
 * with backoff, and says exactly why it gave up. With no arguments it runs a demo against
 * loopback listeners it starts itself.
 *
 * @since 0.1.0
 */
import { Address, Connector, Policy } from "@effect-connect/core"
import { UnixConnector } from "@effect-connect/unix"
import { Args, Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

const waitOne = (input: string, timeout: Duration.Duration, attempts: number) =>
  Effect.gen(function*() {
    const address = yield* Address.parse(input)
    const started = Date.now()
    const connection = yield* Connector.connect(address, { timeout: "2 seconds" }).pipe(
      Policy.retryTransient(Policy.backoff({ base: "50 millis", cap: "1 second", jitter: "equal", maxAttempts: attempts })),
      Policy.deadline(timeout, input)
    )
    yield* Console.log(`ok    ${input} -> ${Address.format(connection.remote)} in ${Date.now() - started} ms`)
    return true
  }).pipe(
    Effect.scoped,
    Effect.catchAll((e) => Effect.as(Console.log(`fail  ${input}: ${e._tag}: ${e.message}`), false))
  )

const listen = (server: Server, at: number | string) =>
  Effect.async<void>((resume) => {
    server.listen(at, () => resume(Effect.void))
  })

// The demo: one listener that is up, one that comes up after 300 ms (retried through
// ECONNREFUSED), a unix socket, and a port nothing listens on (gives up after the attempts).
const demo = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "wait-for-"))
  const servers = [createServer((s) => s.end()), createServer((s) => s.end()), createServer((s) => s.end())]
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      servers.forEach((s) => s.close())
      rmSync(dir, { recursive: true, force: true })
    })
  )
  yield* listen(servers[0]!, 0)
  const up = (servers[0]!.address() as { port: number }).port
  const probe = createServer()
  yield* listen(probe, 0)
  const late = (probe.address() as { port: number }).port
  probe.close()
  const sock = join(dir, "app.sock")
  yield* listen(servers[1]!, sock)
  setTimeout(() => servers[2]!.listen(late, "127.0.0.1"), 300)
  yield* Console.log("wait-for demo: loopback listeners started by this process")
  const results = yield* Effect.all([
    waitOne(`tcp://127.0.0.1:${up}`, Duration.seconds(5), 10),
    waitOne(`tcp://127.0.0.1:${late}`, Duration.seconds(5), 20),
    waitOne(`unix://${sock}`, Duration.seconds(5), 10),
    waitOne(`unix://${join(dir, "missing", "x.sock")}`, Duration.seconds(1), 3)
  ], { concurrency: "unbounded" })
  yield* Console.log(`${results.filter(Boolean).length} of ${results.length} reachable (the last one is meant to fail)`)
}).pipe(Effect.scoped)

const endpoints = Args.text({ name: "endpoint" }).pipe(Args.withDescription("tcp://host:port, unix:///path or unix-abstract:name"), Args.repeated)
const timeout = Options.integer("timeout").pipe(Options.withDescription("seconds to wait for each endpoint"), Options.withDefault(30))

const command = Command.make("wait-for", { endpoints, timeout }, ({ endpoints, timeout }) =>
  endpoints.length === 0
    ? demo
    : Effect.flatMap(
      Effect.all(endpoints.map((e) => waitOne(e, Duration.seconds(timeout), 1000)), { concurrency: "unbounded" }),
      (ok) => (ok.every(Boolean) ? Effect.void : Effect.sync(() => void (process.exitCode = 1)))
    ))

Command.run(command, { name: "wait-for", version: "0.1.0" })(process.argv).pipe(
  Effect.provide(UnixConnector.layer),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
