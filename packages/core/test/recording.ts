// A tracer that records the spans it makes, for tests of what a connect tells a tracer (core's
// and native's tests share it).
import { Effect, Tracer } from "effect"

export const recordingTracer = () => {
  const native = Effect.runSync(Effect.tracer)
  const spans: Array<Tracer.Span> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = native.span(options)
      spans.push(span)
      return span
    }
  })
  return { tracer, spans }
}
