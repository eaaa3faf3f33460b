// The API reference (docs/api): its examples compile, it is what TypeDoc makes of the sources
// today (every export with a summary, no link out of the repository), and it covers every entry
// point the packages publish.
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { compile, examples, examplesIn } from "../../scripts/check-examples.mjs"

const root = join(import.meta.dirname, "..", "..")
const api = join(root, "docs", "api")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort()

// Links are what a reader follows: markdown links, and the bare URLs GitHub turns into links.
// Code (blocks and spans) is only shown, so an address inside it is no link.
const linksOutIn = (markdown: string): Array<string> => {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "")
  const bare = prose.match(/\b(?:https?:\/\/|www\.)\S+/g) ?? []
  const schemed = [...prose.matchAll(/\]\(([a-z][a-z0-9+.-]*:[^)]*)\)/gi)].map((m) => m[1]!)
  return [...bare, ...schemed]
}

const relativeTargetsIn = (markdown: string): Array<string> =>
  [...markdown.matchAll(/\]\(([^)#:]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!)

describe("API reference", () => {
  it("every @example in the packages' TSDoc compiles", () => {
    const found = examples()
    expect(found.length).toBeGreaterThan(0)
    expect(compile(found)).toEqual([])
  }, 120_000)

  it("an example is read from its fence (or bare), compiled as a module, and a problem reported at its source line", () => {
    const source = [
      "/**",
      " * Makes an address.",
      " *",
      " * @example",
      " * ```ts",
      " * import { Address } from \"@effect-connect/core\"",
      " *",
      " * const address = Address.tcp(\"127.0.0.1\", \"5432\")",
      " * ```",
      " *",
      " * @since 0.1.0",
      " */",
      "/** @example const bare: number = \"text\" */"
    ].join("\n")
    const found = examplesIn(source).map((example) => ({ file: "Example.ts", ...example }))
    expect(found.map((example) => example.line)).toEqual([6, 13])
    expect(compile(found).map((problem) => problem.split(" ").slice(0, 2).join(" "))).toEqual([
      "Example.ts:8: TS2345",
      "Example.ts:13: TS2322"
    ])
  }, 120_000)

  it("docs/api is what `npm run docs` makes now, every export documented, no link out of the repository", () => {
    const out = mkdtempSync(join(tmpdir(), "effect-connect-api-"))
    try {
      // typedoc.json treats its validation warnings (no summary, a broken link) as errors.
      const run = spawnSync(process.execPath, [join(root, "node_modules", "typedoc", "bin", "typedoc"), "--out", out], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
      })
      expect(run.status, run.stdout + run.stderr).toBe(0)

      const made = filesUnder(out)
      expect(filesUnder(api), "docs/api is stale: run `npm run docs`").toEqual(made)
      const stale = made.filter((file) => readFileSync(join(out, file), "utf8") !== readFileSync(join(api, file), "utf8"))
      expect(stale, "docs/api is stale: run `npm run docs`").toEqual([])

      for (const file of made) {
        const markdown = readFileSync(join(out, file), "utf8")
        expect(linksOutIn(markdown), file).toEqual([])
        const broken = relativeTargetsIn(markdown).filter((target) => !existsSync(join(out, dirname(file), target)))
        expect(broken, file).toEqual([])
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 120_000)

  it("documents every entry point in the packages' exports, as an entry point or a namespace of its index", () => {
    const { entryPoints } = JSON.parse(readFileSync(join(root, "typedoc.json"), "utf8")) as { entryPoints: Array<string> }
    const missing: Array<string> = []
    for (const name of ["core", "native", "unix", "clients"]) {
      const dir = join(root, "packages", name)
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name: string
        exports: Record<string, string | { readonly source?: string }>
      }
      const index = readFileSync(join(dir, "src", "index.ts"), "utf8")
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (typeof target === "string" || target.source === undefined) continue
        const source = join("packages", name, target.source)
        const reexported = subpath !== "." && index.includes(`from "./${target.source.replace(/^\.\/src\//, "").replace(/\.ts$/, ".js")}"`)
        if (!entryPoints.includes(source) && !reexported) missing.push(`${pkg.name}${subpath.slice(1)} (${source})`)
      }
    }
    expect(missing).toEqual([])
  })
})
