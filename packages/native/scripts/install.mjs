// The package's install script. In this repository's checkout the addon is always built from
// source (build/Release, what the tests load; test:asan rebuilds it with sanitizer flags).
// Installed as a dependency: nothing to do when an addon loads (a prebuild for this platform, or
// an earlier build); else a build from source when a toolchain is there; else the install still
// succeeds and says once that NodeConnector (node:net) will be used. The package loads its
// prebuild without this script too (--ignore-scripts, npm's allowScripts, pnpm and bun do not
// run a dependency's install script).
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const require = createRequire(import.meta.url)

// npm gives its scripts the path of its own node-gyp, and puts a node-gyp on PATH too.
const nodeGypRebuild = () => {
  const [command, args] = process.env.npm_config_node_gyp
    ? [process.execPath, [process.env.npm_config_node_gyp, "rebuild"]]
    : ["node-gyp", ["rebuild"]]
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" })
  return result.status ?? 1
}

// Why no addon loads (no prebuild for this platform, or one the dynamic loader refuses), or
// undefined when one does.
const loadFailure = () => {
  try {
    require("node-gyp-build")(root)
    return undefined
  } catch (error) {
    return String(error instanceof Error ? error.message : error).split("\n")[0]
  }
}

// A dependency is installed under a node_modules directory; this checkout is not.
if (!root.split(sep).includes("node_modules")) {
  process.exit(nodeGypRebuild())
}
const failure = loadFailure()
if (failure !== undefined && nodeGypRebuild() !== 0) {
  console.error(`@effect-connect/native: the addon is not built (${failure}; no build from source): NodeConnector (node:net) will be used`)
}
