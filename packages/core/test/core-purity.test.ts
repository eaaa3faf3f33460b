import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { expect, it } from "vitest"

const files = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []
  )

it("core has no runtime node: imports (type-only imports are erased)", () => {
  const src = new URL("../src", import.meta.url).pathname
  const offenders = files(src).flatMap((file) =>
    readFileSync(file, "utf8").split("\n")
      .filter((line) => /from\s+["']node:/.test(line) && !/^\s*import\s+type\b/.test(line))
      .map((line) => `${file}: ${line}`)
  )
  expect(offenders).toEqual([])
})
