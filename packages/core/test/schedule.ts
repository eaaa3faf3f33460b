// Steps a schedule by hand, as effect 3's Schedule.run did (effect 4 has none): each input is one
// step, taken when the previous delay ends, and the output of the step that says done is kept
// too, so a schedule that stops after n recurrences gives at most n outputs.
import { Duration, Effect, Pull, Schedule } from "effect"

/** The delays, in milliseconds, that `schedule` outputs over `n` steps from time 0. */
export const delays = (schedule: Schedule.Schedule<Duration.Duration>, n: number): Effect.Effect<Array<number>> =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(schedule)
    const outputs: Array<number> = []
    let now = 0
    for (let i = 0; i < n; i++) {
      const next = yield* step(now, undefined).pipe(
        Effect.map(([output, delay]) => ({ output, delay })),
        Pull.catchDone((output) => Effect.succeed({ output, delay: undefined }))
      )
      outputs.push(Duration.toMillis(next.output))
      if (next.delay === undefined) break
      now += Duration.toMillis(next.delay)
    }
    return outputs
  })
