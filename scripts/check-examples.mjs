// Type-checks the `@example` blocks of the published packages' TSDoc (what docs/api shows).
//
// The convention: an example is a complete module, as a user would write it, with its own
// imports (`import { Address } from "@effect-connect/core"`), in a ```ts fence (bare code is
// taken whole, as TypeDoc renders it). Each one is compiled on its own, against the packages'
// sources (the "@effect-connect/source" export condition), with the repository's compiler options
// except the unused-name checks: an example may show a value it does not use.
//
// `node scripts/check-examples.mjs` prints each problem and exits 1; test/docs/api.test.ts runs it.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const packages = ["core", "native", "unix", "clients"]

const sourceFiles = (dir) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => join(dir, name))

const tagLine = /^@\w+(\s|$)/
const fence = /^\s*```/

// The code of one `@example`'s lines: each fenced block, else (bare code) all of it.
const codeOf = (lines) => {
  if (!lines.some((l) => fence.test(l.text))) {
    const first = lines.findIndex((l) => l.text.trim() !== "")
    return first === -1 ? [] : [{ line: lines[first].line, code: lines.slice(first).map((l) => l.text).join("\n").trimEnd() }]
  }
  const blocks = []
  let open = null
  for (const l of lines) {
    if (!fence.test(l.text)) open?.push(l.text)
    else if (open === null) open = Object.assign([], { line: l.line + 1 })
    else {
      blocks.push({ line: open.line, code: open.join("\n") })
      open = null
    }
  }
  return blocks
}

/**
 * Every `@example` of a source text: `line` is the 1-based line, in `text`, of the code's first line.
 * @param {string} text
 * @returns {Array<{ line: number, code: string }>}
 */
export const examplesIn = (text) =>
  [...text.matchAll(/\/\*\*[\s\S]*?\*\//g)].flatMap((comment) => {
    const first = text.slice(0, comment.index).split("\n").length
    const lines = comment[0].split("\n").map((raw, i) => ({
      line: first + i,
      text: raw.replace(/^\s*\/\*\*\s?/, "").replace(/\s*\*\/$/, "").replace(/^\s*\* ?/, "")
    }))
    const examples = []
    let example = null // the lines of the @example being read
    let fenced = false
    for (const l of lines) {
      if (!fenced && tagLine.test(l.text)) {
        if (example !== null) examples.push(example)
        example = l.text.startsWith("@example") ? [] : null
        // Text after the tag is the example's title (TypeDoc's reading), or its code when bare.
        const rest = l.text.replace(/^@\w+\s*/, "")
        if (example !== null && rest !== "") example.push({ line: l.line, text: rest })
        continue
      }
      if (fence.test(l.text)) fenced = !fenced
      example?.push(l)
    }
    if (example !== null) examples.push(example)
    return examples.flatMap(codeOf)
  })

const report = (diagnostic, origin) => {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
  if (diagnostic.file === undefined || diagnostic.start === undefined) return `${message}`
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
  const at = origin.get(diagnostic.file.fileName)
  return `${at.file}:${at.line + line}: TS${diagnostic.code} ${message}`
}

/**
 * Every `@example` of the packages' sources, with the file (relative to the repository) it is in.
 * @returns {Array<{ file: string, line: number, code: string }>}
 */
export const examples = () =>
  packages.flatMap((name) =>
    sourceFiles(join(root, "packages", name, "src")).flatMap((file) =>
      examplesIn(readFileSync(file, "utf8")).map((example) => ({ file: relative(root, file), ...example }))
    )
  )

/**
 * Compiles each example as a module of its own; returns the problems, each as
 * "packages/x/src/File.ts:line: TSnnnn message".
 * @param {Array<{ file: string, line: number, code: string }>} found
 * @returns {Array<string>}
 */
export const compile = (found) => {
  // Inside the repository, so that the examples resolve the workspace's packages as a user's
  // project resolves installed ones.
  mkdirSync(join(root, "node_modules", ".cache"), { recursive: true })
  const dir = mkdtempSync(join(root, "node_modules", ".cache", "examples-"))
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }))
    const origin = new Map()
    const files = found.map((example, i) => {
      const file = join(dir, `${example.file.replace(/\W+/g, "-")}-${example.line}-${i}.ts`)
      writeFileSync(file, example.code + "\n")
      origin.set(file, example)
      return file
    })
    const base = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.base.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")) }
    })
    const options = {
      ...base.options,
      composite: false,
      declaration: false,
      declarationMap: false,
      sourceMap: false,
      noEmit: true,
      noUnusedLocals: false,
      noUnusedParameters: false
    }
    const program = ts.createProgram({ rootNames: files, options })
    const problems = files.flatMap((file) => {
      const sourceFile = program.getSourceFile(file)
      return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)]
        .map((d) => report(d, origin))
    })
    return problems
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = examples()
  const problems = compile(found)
  for (const problem of problems) console.log(problem)
  console.log(`${found.length} examples, ${problems.length} problems`)
  process.exitCode = problems.length === 0 ? 0 : 1
}
