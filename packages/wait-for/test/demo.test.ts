// `wait-for --demo` (what `npm start` runs) runs to completion: every scene as it should end.
import { expect, it } from "vitest"
import { run, useCli } from "./support.js"

const cli = useCli()

it("the demo ends with exit 0, each scene's outcome printed", async () => {
  const r = await run(cli.path, ["--demo"], { limit: 20_000 })
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout).toBe("")
  const e = r.stderr
  expect(e).toMatch(/^wait  tcp:\/\/127\.0\.0\.1:\d+  attempt 1: ConnectionRefused ECONNREFUSED, retry in \d+ms$/m)
  expect(e).toMatch(/^up    tcp:\/\/127\.0\.0\.1:\d+  in \d+ms, \d+ attempts$/m)
  expect(e).toMatch(/^up    unix:\/\/\/tmp\/wait-for-demo-\w+\/app\.sock  in \d+ms, 1 attempt$/m)
  expect(e).toMatch(/^up    http:\/\/127\.0\.0\.1:\d+\/health  in \d+m?s, 3 attempts \(200\)$/m)
  expect(e).toMatch(/^fail  unix:\/\/\/tmp\/wait-for-demo-\w+\/missing\/app\.sock  timed out after 1(\.\d)?s, \d+ attempts; last attempt: NotFound ENOENT at \/tmp\/wait-for-demo-\w+\/missing \(missing-directory\)$/m)
  expect(e).toMatch(/^fail  tcp:\/\/127\.0\.0\.1:\d+  timed out after 1(\.\d)?s, \d+ attempts; last attempt: ConnectionRefused ECONNREFUSED$/m)
  // The deadline's own message names the real cause.
  expect(e).toMatch(/^   the library's own message: connect unix:\/\/\/tmp\/wait-for-demo-\w+\/missing\/app\.sock: gave up after 1\.\d s and \d+ attempts; the last failed with ENOENT: \/tmp\/wait-for-demo-\w+\/missing: this directory does not exist$/m)
  // A permanent error: one attempt, no retry, long before the scene's 5 s.
  expect(e).toMatch(/^fail  unix:\/\/\/tmp\/wait-for-demo-\w+\/not-a-socket  ConnectionRefused ECONNREFUSED at \/tmp\/wait-for-demo-\w+\/not-a-socket \(not-a-socket\) \(permanent\) after \d+ms, 1 attempt$/m)
  expect(e).toMatch(/^down  tcp:\/\/127\.0\.0\.1:\d+  after \d+ms, \d+ attempts: ConnectionRefused ECONNREFUSED$/m)
  expect(e).toContain("\ndemo done\n")
  expect(e).not.toContain("not as expected")
})
