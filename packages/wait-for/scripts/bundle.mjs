// Bundles wait-for from its TypeScript sources (and the workspace packages' sources) into
// dist/bundle/wait-for.js, the `wait-for` bin and all that @effect-connect/wait-for publishes: one
// file to parse in place of some 900 modules, so that the CLI starts faster than wait-on (see
// `npm run bench:start`), and nothing to install beside it. undici goes into a chunk of its own,
// loaded only when there is an http target. Runs at pack and publish (`prepack`) and from the tests.
//
// The addon is not bundled: wait-for connects through NodeConnector (node:net), so a bundle runs
// wherever Node does. Native's addon loader is in the bundle, but it loads only on first use, and
// nothing wait-for does uses it: the package test runs the packed bin where there is no addon.
import { build } from "esbuild"
import { chmodSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "..")

/** Bundles into `outdir` (default dist/bundle); returns the entry's path. */
export const bundle = async (outdir = join(root, "dist", "bundle")) => {
  // Chunk names carry a hash: a stale chunk from an earlier build would stay beside the new ones.
  rmSync(outdir, { recursive: true, force: true })
  await build({
    entryPoints: { "wait-for": join(root, "src", "main.ts") },
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node22",
    conditions: ["@effect-connect/source"],
    chunkNames: "[name]-[hash]",
    minify: true,
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    // undici is CommonJS: its requires of Node's modules need a real `require` in an ES module.
    banner: { js: "import { createRequire as __wfRequire } from \"node:module\"; const require = __wfRequire(import.meta.url);" },
    // Clients of @effect-connect/clients that wait-for never loads (optional peers there).
    external: ["ioredis", "pg", "postgres", "mysql2", "@effect/sql-pg", "@effect/platform-node/NodeHttpClient"],
  })
  const entry = join(outdir, "wait-for.js")
  chmodSync(entry, 0o755)
  return entry
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entry = await bundle(process.argv[2] === undefined ? undefined : resolve(process.argv[2]))
  // On stderr: `npm pack --json` runs this as prepack, and its stdout must be npm's JSON alone.
  console.error(`wait-for bundled: ${relative(process.cwd(), entry)}`)
}
