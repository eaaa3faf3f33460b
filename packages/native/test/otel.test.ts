// What a connect tells OpenTelemetry, through the real SDK: @effect/opentelemetry's NodeSdk layer
// with in-memory exporters, real connects over loopback and a unix socket. The span names, their
// parents, their attributes (OpenTelemetry's semantic conventions and ours) and the metrics'
// series, as an exporter receives them.
import { Address, Connector, Policy } from "@effect-connect/core"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { describe, expect, it } from "@effect/vitest"
import { SpanKind, SpanStatusCode } from "@opentelemetry/api"
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_LOCAL_ADDRESS,
  ATTR_NETWORK_LOCAL_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_TRANSPORT,
  ATTR_NETWORK_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT
} from "@opentelemetry/semantic-conventions"
import { Effect, Layer, Metric, Schedule, type Scope } from "effect"
import { join } from "node:path"
import { NativeConnector } from "@effect-connect/native"
import { loadedBinding } from "../src/internal/binding.js"
import { listening, ownPort, tempDir } from "./support.js"

const binding = loadedBinding()

interface Exported {
  readonly spans: ReadonlyArray<ReadableSpan>
  readonly metrics: ReadonlyArray<MetricData>
}

// Runs `program` with the OpenTelemetry SDK installed as a user would (NodeSdk.layer), on a
// metric registry of its own (counts start at zero), and returns what the exporters received.
// Read before the layer is released: the SDK's shutdown empties the in-memory span exporter.
const exported = <A, E>(program: Effect.Effect<A, E, Connector.Connector | Scope.Scope>): Effect.Effect<Exported, E> => {
  const spans = new InMemorySpanExporter()
  const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 3_600_000 })
  const otel = NodeSdk.layer(() => ({
    resource: { serviceName: "effect-connect-test" },
    spanProcessor: new SimpleSpanProcessor(spans),
    metricReader: reader
  }))
  return Effect.gen(function*() {
    yield* Effect.exit(Effect.scoped(program))
    yield* Effect.promise(() => reader.forceFlush())
    return {
      spans: spans.getFinishedSpans(),
      metrics: metrics.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
    }
  }).pipe(
    Effect.provide(Layer.merge(otel, NativeConnector.layer)),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )
}

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((s) => s.name === name)
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

// A metric's data points as [attributes, count]: the counter's value, the histogram's count.
const points = (metrics: ReadonlyArray<MetricData>, name: string) =>
  metrics.filter((m) => m.descriptor.name === name).flatMap((m) =>
    m.dataPoints.map((p) => [p.attributes, typeof p.value === "number" ? p.value : (p.value as { count: number }).count] as const)
  )

const tcp4 = { [ATTR_NETWORK_TRANSPORT]: "tcp", [ATTR_NETWORK_TYPE]: "ipv4" }
const endpoints = (host: string, port: number) => ({
  [ATTR_SERVER_ADDRESS]: host,
  [ATTR_SERVER_PORT]: port,
  [ATTR_NETWORK_PEER_ADDRESS]: host,
  [ATTR_NETWORK_PEER_PORT]: port
})

describe("OpenTelemetry, through @effect/opentelemetry's NodeSdk and the real SDK", () => {
  it.live("a refused connect: one client span with the semantic conventions, status ERROR, one series", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const { spans, metrics } = yield* exported(Connector.connect(Address.tcp("127.0.0.1", port)))
      expect(spans.map((s) => s.name)).toEqual(["effect-connect.connect"])
      const [span] = spans
      expect(span!.kind).toBe(SpanKind.CLIENT)
      expect(parentOf(span!)).toBeUndefined()
      expect(span!.status.code).toBe(SpanStatusCode.ERROR)
      expect(span!.attributes).toEqual({
        "connect.address": `tcp://127.0.0.1:${port}`,
        "connect.attempt": 1,
        "connect.outcome": "ConnectionRefused",
        "connect.errno": "ECONNREFUSED",
        [ATTR_ERROR_TYPE]: "ConnectionRefused",
        ...endpoints("127.0.0.1", port),
        ...tcp4
      })
      const refused = { outcome: "ConnectionRefused", [ATTR_ERROR_TYPE]: "ConnectionRefused", ...tcp4 }
      expect(points(metrics, "effect_connect_attempt_seconds")).toEqual([[refused, 1]])
      expect(points(metrics, "effect_connect_attempts_total")).toEqual([[refused, 1]])
      const histogram = metrics.find((m) => m.descriptor.name === "effect_connect_attempt_seconds")!
      expect(histogram.dataPointType).toBe(DataPointType.HISTOGRAM)
      expect(histogram.descriptor.description).toMatch(/^connect attempt latency in seconds/)
    }).pipe(Effect.scoped))

  it.live("a successful connect: its span names both ends, status OK; the series has no error.type", () =>
    Effect.gen(function*() {
      const server = yield* listening(0, undefined, "127.0.0.1")
      const port = (server.address() as { port: number }).port
      let local = 0
      const { spans, metrics } = yield* exported(Effect.map(
        Connector.connect(Address.tcp("127.0.0.1", port)),
        (c) => local = (c.local as Address.Tcp).port
      ))
      expect(spans.map((s) => s.name)).toEqual(["effect-connect.connect"])
      expect(spans[0]!.status.code).toBe(SpanStatusCode.OK)
      expect(spans[0]!.attributes).toEqual({
        "connect.address": `tcp://127.0.0.1:${port}`,
        "connect.attempt": 1,
        "connect.outcome": "ok",
        "connect.local": `tcp://127.0.0.1:${local}`,
        [ATTR_NETWORK_LOCAL_ADDRESS]: "127.0.0.1",
        [ATTR_NETWORK_LOCAL_PORT]: local,
        ...endpoints("127.0.0.1", port),
        ...tcp4
      })
      expect(points(metrics, "effect_connect_attempt_seconds")).toEqual([[{ outcome: "ok", ...tcp4 }, 1]])
      expect(points(metrics, "effect_connect_attempts_total")).toEqual([[{ outcome: "ok", ...tcp4 }, 1]])
    }).pipe(Effect.scoped))

  it.live("retryTransient: a loop span, parent of every attempt's, with the attempts and the outcome", () =>
    Effect.gen(function*() {
      // Bound, not listening: refused until the third attempt listens on it first.
      const c = binding.constants
      const fd = yield* Effect.acquireRelease(
        Effect.sync(() => binding.socket(c.AF_INET, c.SOCK_STREAM)),
        (fd) => Effect.sync(() => binding.close(fd))
      )
      expect(binding.bind(fd, { family: c.AF_INET, address: "127.0.0.1", port: 0 })).toBe(0)
      const port = (binding.getsockname(fd) as { port: number }).port
      let attempts = 0
      const { spans, metrics } = yield* exported(
        Effect.suspend(() => {
          if (++attempts === 3) expect(binding.listen(fd, 16)).toBe(0)
          return Connector.connect(Address.tcp("127.0.0.1", port))
        }).pipe(Policy.retryTransient(Policy.backoff({ base: "5 millis", maxAttempts: 4 })))
      )
      const [loop] = named(spans, "effect-connect.retry")
      const tries = named(spans, "effect-connect.connect")
      expect(named(spans, "effect-connect.retry")).toHaveLength(1)
      expect(loop!.kind).toBe(SpanKind.INTERNAL)
      expect(loop!.attributes).toEqual({ "retry.attempts": 3, "retry.outcome": "ok" })
      expect(loop!.status.code).toBe(SpanStatusCode.OK)
      expect(tries.map((s) => [s.attributes["connect.attempt"], s.attributes["connect.outcome"], s.attributes[ATTR_ERROR_TYPE]]))
        .toEqual([[1, "ConnectionRefused", "ConnectionRefused"], [2, "ConnectionRefused", "ConnectionRefused"], [3, "ok", undefined]])
      expect(tries.every((s) => parentOf(s) === loop!.spanContext().spanId && s.spanContext().traceId === loop!.spanContext().traceId))
        .toBe(true)
      expect(parentOf(loop!)).toBeUndefined()
      const refused = { outcome: "ConnectionRefused", [ATTR_ERROR_TYPE]: "ConnectionRefused", ...tcp4 }
      expect(points(metrics, "effect_connect_attempt_seconds")).toEqual([[refused, 2], [{ outcome: "ok", ...tcp4 }, 1]])
    }).pipe(Effect.scoped))

  it.live("retryTransient gives up: the loop span says why, as the last attempt's error does", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const { spans } = yield* exported(
        Connector.connect(Address.tcp("127.0.0.1", port)).pipe(Policy.retryTransient(Policy.backoff({ base: "1 millis", maxAttempts: 3 })))
      )
      const [loop] = named(spans, "effect-connect.retry")
      expect(loop!.attributes).toEqual({
        "retry.attempts": 3,
        "retry.outcome": "ConnectionRefused",
        [ATTR_ERROR_TYPE]: "ConnectionRefused",
        "connect.errno": "ECONNREFUSED"
      })
      expect(loop!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/after 3 attempts/) })
      expect(named(spans, "effect-connect.connect").map((s) => parentOf(s))).toEqual(Array(3).fill(loop!.spanContext().spanId))
    }).pipe(Effect.scoped))

  it.live("deadline over retryTransient: deadline > retry (interrupted) > attempts, the TimedOut on the outer span", () =>
    Effect.gen(function*() {
      const port = yield* ownPort("refusing")
      const { spans } = yield* exported(
        Connector.connect(Address.tcp("127.0.0.1", port)).pipe(
          Policy.retryTransient(Schedule.spaced("5 millis")),
          Policy.deadline("60 millis")
        )
      )
      const [outer] = named(spans, "effect-connect.deadline")
      const [loop] = named(spans, "effect-connect.retry")
      const tries = named(spans, "effect-connect.connect")
      expect(tries.length).toBeGreaterThan(1)
      expect(outer!.attributes).toEqual({
        "deadline.attempts": tries.length,
        "deadline.outcome": "TimedOut",
        [ATTR_ERROR_TYPE]: "TimedOut",
        "connect.errno": "ETIMEDOUT"
      })
      expect(outer!.status.code).toBe(SpanStatusCode.ERROR)
      expect(loop!.attributes).toEqual({ "retry.attempts": tries.length, "retry.outcome": "interrupted", "effect.fiber.interrupted": true })
      expect(parentOf(loop!)).toBe(outer!.spanContext().spanId)
      expect(tries.every((s) => parentOf(s) === loop!.spanContext().spanId)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("a name: server.address is the name asked for, network.peer.address the IP dialed", () =>
    Effect.gen(function*() {
      const server = yield* listening(0)
      const port = (server.address() as { port: number }).port
      const { spans } = yield* exported(Connector.connect(Address.tcp("localhost", port)))
      const won = named(spans, "effect-connect.connect").filter((s) => s.attributes["connect.outcome"] === "ok")
      expect(won).toHaveLength(1)
      const peer = won[0]!.attributes[ATTR_NETWORK_PEER_ADDRESS]
      expect(["127.0.0.1", "::1"]).toContain(peer)
      expect(won[0]!.attributes).toMatchObject({
        [ATTR_SERVER_ADDRESS]: "localhost",
        [ATTR_SERVER_PORT]: port,
        [ATTR_NETWORK_PEER_PORT]: port,
        [ATTR_NETWORK_TRANSPORT]: "tcp",
        [ATTR_NETWORK_TYPE]: peer === "::1" ? "ipv6" : "ipv4"
      })
    }).pipe(Effect.scoped))

  it.live("unix: network.transport unix, the path as server.address, no port or network.type", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "app.sock")
      const missing = yield* exported(Connector.connect(Address.unix(path)))
      expect(missing.spans.map((s) => s.attributes)).toEqual([{
        "connect.address": `unix://${path}`,
        "connect.attempt": 1,
        "connect.outcome": "NotFound",
        "connect.errno": "ENOENT",
        [ATTR_ERROR_TYPE]: "NotFound",
        [ATTR_SERVER_ADDRESS]: path,
        [ATTR_NETWORK_PEER_ADDRESS]: path,
        [ATTR_NETWORK_TRANSPORT]: "unix"
      }])
      expect(points(missing.metrics, "effect_connect_attempt_seconds"))
        .toEqual([[{ outcome: "NotFound", [ATTR_ERROR_TYPE]: "NotFound", [ATTR_NETWORK_TRANSPORT]: "unix" }, 1]])
      yield* listening(path)
      const ok = yield* exported(Connector.connect(Address.unix(path)))
      expect(ok.spans[0]!.attributes).toMatchObject({ "connect.outcome": "ok", [ATTR_SERVER_ADDRESS]: path, [ATTR_NETWORK_TRANSPORT]: "unix" })
      expect(ok.spans[0]!.attributes).not.toHaveProperty(ATTR_NETWORK_TYPE)
      expect(points(ok.metrics, "effect_connect_attempt_seconds")).toEqual([[{ outcome: "ok", [ATTR_NETWORK_TRANSPORT]: "unix" }, 1]])
    }).pipe(Effect.scoped))
})
