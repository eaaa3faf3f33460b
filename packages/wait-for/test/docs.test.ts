// The docs: the errno tables in README.md and docs/errors.md are generated from core's table,
// docs/wait-for.schema.json from the --json schema; every link stays inside the repository; the
// README's connect compiles. `npm run docs -w @effect-connect/wait-for` rewrites what is
// generated.
import { Errno } from "@effect-connect/core"
import { JsonSchema, Schema } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { describe, expect, it } from "vitest"
import { Event } from "../src/Event.js"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const update = process.env.UPDATE_DOCS === "1"
const read = (path: string) => readFileSync(join(root, path), "utf8")

const cell = (s: string) => s.replace(/\|/g, "\\|")
const hints = (row: Errno.Row) => {
  const { ip, unix, abstract } = row.hint ?? {}
  const perFamily = ip !== undefined && ip === unix ? [ip] : [ip && `IP: ${ip}`, unix && `unix: ${unix}`]
  if (abstract !== undefined) perFamily.push(`abstract name: ${abstract}`)
  const reasons = Object.entries(row.reasons ?? {}).map(([reason, text]) => `\`${reason}\`: ${text}`)
  return [...perFamily, ...reasons].filter((h) => h !== undefined && h !== "").join("; ")
}
const where = (row: Errno.Row) =>
  row.raw === true ? "raw API only" : row.kinds.map((k) => (k === "inet" ? "IP" : k)).join(", ")

/** The errno rows as a markdown table: `short` for the README, `full` for docs/errors.md. */
export const errnoTable = (style: "short" | "full"): string => {
  const rows = Errno.names.map((name) => [name, Errno.table[name] as Errno.Row] as const)
  if (style === "short") {
    return [
      "| errno | tag | transient | meaning |",
      "|---|---|---|---|",
      ...rows.map(([name, row]) => `| ${name} | \`${row.tag}\` | ${row.transient ? "yes" : "no"} | ${cell(row.meaning)} |`)
    ].join("\n")
  }
  return [
    "| errno | tag | transient | Linux | Darwin | FreeBSD | from | meaning | what to check |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(([name, row]) =>
      `| ${name} | \`${row.tag}\` | ${row.transient ? "yes" : "no"} | ${row.linux} | ${row.darwin} | ${row.freebsd} | ${where(row)}` +
      `${row.pathCause === true ? "; the path is walked" : ""} | ${cell(row.meaning)} | ${cell(hints(row))} |`
    )
  ].join("\n")
}

/** What a walk of a unix path can find, whether waiting can mend it, and the errnos it explains. */
export const pathProblemTable = (): string =>
  [
    "| problem | transient | after | what it means |",
    "|---|---|---|---|",
    ...Object.entries(Errno.pathProblems).map(([problem, p]) =>
      `| \`${problem}\` | ${p.transient ? "yes" : "no"} | ${p.errnos.join(", ")} | ${cell(p.meaning)} |`
    )
  ].join("\n")

const generated = (name: string, body: string) =>
  `<!-- BEGIN generated:${name} (npm run docs -w @effect-connect/wait-for) -->\n${body}\n<!-- END generated:${name} -->`

const blocks: ReadonlyArray<readonly [file: string, name: string, body: () => string]> = [
  ["README.md", "errno-table", () => errnoTable("short")],
  ["docs/errors.md", "errno-table", () => errnoTable("full")],
  ["docs/errors.md", "path-problems", pathProblemTable]
]

describe("generated docs are current", () => {
  for (const [file, name, body] of blocks) {
    it(`${file}: ${name} from core's Errno.table`, () => {
      const text = read(file)
      const pattern = new RegExp(`<!-- BEGIN generated:${name} [^\\n]*-->\\n(?:[\\s\\S]*?\\n)?<!-- END generated:${name} -->`)
      expect(text).toMatch(pattern)
      const current = text.replace(pattern, generated(name, body()))
      if (update && current !== text) writeFileSync(join(root, file), current)
      else expect(text, `${file} is out of date: npm run docs -w @effect-connect/wait-for`).toBe(current)
    })
  }
  it("docs/wait-for.schema.json from the --json schema", () => {
    // Draft-07, as it always was; closed objects: an event has no fields but those it documents.
    const document = JsonSchema.toDocumentDraft07(Schema.toJsonSchemaDocument(Event, { onExcessProperty: "error" }))
    const schema = JSON.stringify({ $schema: JsonSchema.META_SCHEMA_URI_DRAFT_07, definitions: document.definitions, ...document.schema }, null, 2) + "\n"
    if (update) writeFileSync(join(root, "docs/wait-for.schema.json"), schema)
    else expect(read("docs/wait-for.schema.json"), "out of date: npm run docs -w @effect-connect/wait-for").toBe(schema)
  })
})

describe("links", () => {
  // Files not yet committed count (a moved package's README), files deleted but not yet committed do not.
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md", "**/*.md"], { cwd: root, encoding: "utf8" })
    .split("\n").filter((f) => f !== "" && !f.includes("node_modules") && existsSync(join(root, f)))
  it("the root README, docs/ and every package's README exist", () => {
    for (const f of ["README.md", "LICENSE", "docs/architecture.md", "docs/errors.md", "docs/wait-for.md", "packages/core/README.md",
      "packages/native/README.md", "packages/unix/README.md", "packages/wait-for/README.md", "examples/line-client/README.md"]) {
      expect(existsSync(join(root, f)), f).toBe(true)
    }
  })
  it("no link leaves the repository, and every link inside it points to a file that exists", () => {
    const bad: Array<string> = []
    for (const file of files) {
      const raw = read(file)
      // A relative path written as code is a pointer too (`../shared/DESIGN.md`).
      for (const [, path] of raw.matchAll(/`(\.\.?\/[^`\s]+)`/g)) {
        const at = resolve(dirname(join(root, file)), path!)
        if (relative(root, at).startsWith("..") || !existsSync(at)) bad.push(`${file}: ${path} is not a file of the repository`)
      }
      // Code blocks hold commands and example URLs, not links.
      const text = raw.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "")
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)[^)]*\)|<(https?:[^>]+)>/g)) {
        const link = target ?? ""
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) bad.push(`${file}: ${link} leaves the repository`)
        else if (!link.startsWith("#")) {
          const path = resolve(dirname(join(root, file)), link.split("#")[0]!)
          if (relative(root, path).startsWith("..") || !existsSync(path)) bad.push(`${file}: ${link} is not a file of the repository`)
        }
      }
      for (const [url] of text.matchAll(/https?:\/\/[^\s)>]+/g)) bad.push(`${file}: ${url} leaves the repository`)
    }
    expect(bad).toEqual([])
  })
})

it("the README's typed, retried connect compiles", () => {
  const readme = read("README.md")
  const code = /<!-- compiles: [^\n]*-->\n```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  expect(code, "README.md: a ts block after <!-- compiles: ... -->").toBeDefined()
  // Inside this package, so that the workspace packages resolve as they do for a user.
  const dir = mkdtempSync(join(root, "packages/wait-for/test/.readme-"))
  try {
    const file = join(dir, "connect.ts")
    writeFileSync(file, code!)
    const base = ts.readConfigFile(join(root, "tsconfig.base.json"), ts.sys.readFile).config
    const { options } = ts.parseJsonConfigFileContent({ ...base, compilerOptions: { ...base.compilerOptions, noEmit: true, composite: false, declaration: false, declarationMap: false } }, ts.sys, root)
    const program = ts.createProgram([file], options)
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
    expect(problems).toEqual([])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
