// npm pack runs this (prepack); `npm run prebuilds [-- x64|arm64 ...]` runs it by hand. It writes
// to stderr only: `npm pack --json` prints its JSON on stdout.
// Builds the Node-API addon with prebuildify for linux-x64 and linux-arm64 (glibc) into
// prebuilds/linux-<arch>/@effect-connect+native.glibc.node, where node-gyp-build looks once no
// build/Release is there. arm64 is cross-compiled with Debian's aarch64-linux-gnu toolchain.
// Each build runs in a temporary copy of the sources: node-gyp clears the build/ it works in,
// and build/Release is the development addon that the tests load.
import { spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const require = createRequire(join(root, "package.json"))

const toolchains = {
  x64: { env: {}, strip: "strip" },
  arm64: {
    env: { CC: "aarch64-linux-gnu-gcc", CXX: "aarch64-linux-gnu-g++" },
    strip: "aarch64-linux-gnu-strip"
  }
}

const arches = process.argv.slice(2)
for (const arch of arches) {
  if (!(arch in toolchains)) throw new Error(`prebuild: unknown arch ${arch} (known: ${Object.keys(toolchains).join(", ")})`)
}

// Node's headers: npm_config_nodedir when set, else the running Node's own include/node (the
// registry's node-linux-* packages ship it), so that nothing is downloaded.
const nodedir = process.env.npm_config_nodedir ?? dirname(dirname(process.execPath))
if (!existsSync(join(nodedir, "include", "node", "node_api.h"))) {
  throw new Error(`prebuild: no Node headers in ${nodedir}/include/node; set npm_config_nodedir`)
}
// npm gives its scripts the path of its own node-gyp; outside npm, node-gyp from PATH.
const nodeGyp = process.env.npm_config_node_gyp ?? "node-gyp"
// binding.gyp asks `node -p "require('node-addon-api')..."`, run in the temporary copy.
const addonApiModules = dirname(dirname(require.resolve("node-addon-api/package.json")))

const build = (arch) => {
  const stage = mkdtempSync(join(tmpdir(), `ec-prebuild-${arch}-`))
  try {
    mkdirSync(join(stage, "native"))
    for (const file of ["package.json", "binding.gyp"]) copyFileSync(join(root, file), join(stage, file))
    for (const file of readdirSync(join(root, "native")).filter((f) => /\.(cc|h)$/.test(f))) {
      copyFileSync(join(root, "native", file), join(stage, "native", file))
    }
    const { env, strip } = toolchains[arch]
    const started = performance.now()
    // node-gyp's log is shown only when the build fails.
    const run = spawnSync(process.execPath, [
      require.resolve("prebuildify/bin.js"),
      "--napi", "--strip", "--strip-bin", strip, "--tag-libc",
      "--arch", arch, "--platform", "linux",
      "--target", process.versions.node,
      "--node-gyp", nodeGyp,
      "--cwd", stage, "--out", stage
    ], {
      encoding: "utf8",
      env: {
        ...process.env,
        ...env,
        npm_config_nodedir: nodedir,
        NODE_PATH: [addonApiModules, process.env.NODE_PATH].filter(Boolean).join(":")
      }
    })
    if (run.status !== 0) {
      process.stderr.write(run.stdout + run.stderr)
      throw new Error(`prebuild: linux-${arch} failed (${run.error?.message ?? `exit ${run.status}`})`)
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    // Into place by rename, each file whole: a test or a pack running meanwhile sees the old
    // prebuild or the new one, never none. Other files there are from earlier builds.
    const built = join(stage, "prebuilds", `linux-${arch}`)
    const dir = join(root, "prebuilds", `linux-${arch}`)
    mkdirSync(dir, { recursive: true })
    const files = readdirSync(built)
    for (const file of files) {
      const partial = join(dir, `.${file}.${process.pid}.partial`)
      copyFileSync(join(built, file), partial)
      renameSync(partial, join(dir, file))
      console.error(`prebuild linux-${arch}: ${relative(root, join(dir, file))}, ${statSync(join(dir, file)).size} bytes, built in ${seconds} s`)
    }
    for (const file of readdirSync(dir)) {
      if (!files.includes(file) && !file.endsWith(".partial")) rmSync(join(dir, file), { force: true })
    }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

// The toolchains above are an x64 host's; a tarball packed elsewhere would ship without its
// prebuilds, or with mislabelled ones: refuse instead.
if (process.platform !== "linux" || process.arch !== "x64") {
  throw new Error("prebuild: the prebuilds are built on x64 Linux (arm64 cross-compiled); pack there")
}
for (const arch of arches.length === 0 ? Object.keys(toolchains) : arches) build(arch)
