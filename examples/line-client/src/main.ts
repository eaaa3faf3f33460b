#!/usr/bin/env node
/**
 * line-client: `PING` a line-protocol daemon and print its answer, or exactly why there is none.
 * With no argument it starts its own daemon on 127.0.0.1, 300 ms late, and asks `localhost`:
 * the first attempts are refused and retried. `line-client tcp://host:port` asks yours.
 *
 * @since 0.1.0
 */
import { Address } from "@effect-connect/core"
import { NativeConnector } from "@effect-connect/native"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { ask, daemon } from "./client.js"

const program = Effect.gen(function*() {
  const given = process.argv[2]
  const address = given === undefined ? Address.tcp("localhost", (yield* daemon(300)).port) : yield* Address.parse(given)
  const started = Date.now()
  const answer = yield* ask(address, "PING")
  yield* Console.log(`${Address.format(address)} answered ${answer} in ${Date.now() - started} ms`)
}).pipe(
  Effect.scoped,
  // Each failure by its tag: the type says which can happen here.
  Effect.catchTags({
    InvalidAddress: (e) => Console.error(`bad address: ${e.message}`),
    HostNotFound: (e) => Console.error(e.message),
    AllAttemptsFailed: (e) => Console.error(e.message),
    TimedOut: (e) => Console.error(`gave up: ${e.message}`),
    TimeoutError: () => Console.error("connected, but no answer within 5 seconds"),
    SocketError: (e) => Console.error(`the connection broke: ${e.message}`)
  }),
  Effect.catch((e) => Console.error(`${e._tag}: ${e.message}`)),
  Effect.provide(NativeConnector.layer)
)

NodeRuntime.runMain(program)
