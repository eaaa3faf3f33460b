// TypeDoc plugin for the API reference (docs/api), loaded by typedoc.json.
import { readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { Application, Comment, Converter, ReflectionKind } from "typedoc"

// What a user imports by name: each must say what it is in a sentence.
const exported = ReflectionKind.Namespace | ReflectionKind.Variable | ReflectionKind.Function | ReflectionKind.Class |
  ReflectionKind.Interface | ReflectionKind.TypeAlias | ReflectionKind.Enum

const hasSummary = (comment) => comment !== undefined && comment.summary.some((part) => part.text.trim() !== "")

// The text of a file's overview comment (its first, before any tag), which TypeDoc takes only
// when tagged `@module`.
const overviewOf = (sourceFile) => {
  const comment = /^\s*\/\*\*([\s\S]*?)\*\//.exec(sourceFile.text)?.[1] ?? ""
  const lines = comment.split("\n").map((line) => line.replace(/^\s*\* ?/, ""))
  const tag = lines.findIndex((line) => /^@\w+(\s|$)/.test(line))
  return lines.slice(0, tag === -1 ? undefined : tag).join("\n").trim()
}

// The import specifier of a package's source file, from its package.json's `exports`
// ("@effect-connect/source" condition): "@effect-connect/clients/SqlPg" for packages/clients/src/SqlPg.ts.
const specifierOf = (file) => {
  const root = join(dirname(file), "..")
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  const path = `./${relative(root, file)}`
  const entry = Object.entries(pkg.exports).find(([, target]) => target["@effect-connect/source"] === path)
  if (entry === undefined) throw new Error(`${path} is not in the exports of ${pkg.name}`)
  return { name: pkg.name + entry[0].slice(1), description: pkg.description }
}

/** @param {import("typedoc").Application} app */
export function load(app) {
  // An entry point's module is named after its path ("core/src"): name it as a user imports it,
  // and say what it is with the file's overview, else (an index) with the package's description.
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return
    const sourceFile = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile()
    if (sourceFile === undefined) return
    const { name, description } = specifierOf(sourceFile.fileName)
    reflection.name = name
    if (!hasSummary(reflection.comment)) {
      reflection.comment = new Comment([{ kind: "text", text: overviewOf(sourceFile) || description }])
    }
  })
  // TypeDoc shows a constant's initializer; one that is not a literal names the module's internals
  // (`sockaddr.maxPathBytes`), which the reader cannot look up: the type says enough.
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const reflection of context.project.getReflectionsByKind(ReflectionKind.Variable)) {
      if (!/^(".*"|-?[\d.]+|true|false|null)$/.test(reflection.defaultValue ?? "")) delete reflection.defaultValue
    }
  })
  // `notDocumented` counts a comment of tags alone (`@since`, `@category`) as documentation.
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const reflection of project.getReflectionsByKind(exported)) {
      const comments = [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment)]
      if (!comments.some(hasSummary)) {
        app.logger.warn(`${reflection.getFriendlyFullName()} (${ReflectionKind.singularString(reflection.kind)}) has no summary sentence`)
      }
    }
  })
}
