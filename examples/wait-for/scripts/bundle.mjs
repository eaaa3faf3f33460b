// Bundles wait-for from its TypeScript sources (and the workspace packages' sources) into
// dist/bundle/wait-for.js: one file to parse in place of some 900 modules, so that the CLI starts
// faster than wait-on (see `npm run bench:start`). undici goes into a chunk of its own, loaded only
// when there is an http target. Runs at install (`prepare`) and from the tests.
//
// The addon is not bundled: native's binding loads it relative to its own module, and in the
// bundle that path is rewritten relative to the bundle, so the bundle finds the addon that
// native's install built.
import { build } from "esbuild"
import { chmodSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "..")

/** Bundles into `outdir` (default dist/bundle); returns the entry's path. */
export const bundle = async (outdir = join(root, "dist", "bundle")) => {
  const addonAt = "../../build/Release/effect_connect.node"
  const addon = {
    name: "addon-path",
    setup(b) {
      b.onLoad({ filter: /[\\/]native[\\/]src[\\/]internal[\\/]binding\.ts$/ }, (args) => {
        const source = readFileSync(args.path, "utf8")
        const quoted = JSON.stringify(addonAt)
        if (!source.includes(quoted)) {
          throw new Error(`${args.path} no longer loads ${addonAt}: update examples/wait-for/scripts/bundle.mjs`)
        }
        const target = relative(outdir, resolve(dirname(args.path), addonAt))
        return { contents: source.replace(quoted, JSON.stringify(target.startsWith(".") ? target : `./${target}`)), loader: "ts" }
      })
    }
  }
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
    conditions: ["source"],
    chunkNames: "[name]-[hash]",
    minify: true,
    keepNames: true,
    legalComments: "none",
    logLevel: "warning",
    // undici is CommonJS: its requires of Node's modules need a real `require` in an ES module.
    banner: { js: "import { createRequire as __wfRequire } from \"node:module\"; const require = __wfRequire(import.meta.url);" },
    // Clients of @effect-connect/clients that wait-for never loads (optional peers there).
    external: ["ioredis", "pg", "postgres", "mysql2", "@effect/sql-pg", "@effect/platform-node/NodeHttpClient"],
    plugins: [addon]
  })
  const entry = join(outdir, "wait-for.js")
  chmodSync(entry, 0o755)
  return entry
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entry = await bundle(process.argv[2] === undefined ? undefined : resolve(process.argv[2]))
  console.log(`wait-for bundled: ${relative(process.cwd(), entry)}`)
}
