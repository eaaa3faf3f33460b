import { defineConfig } from "vitest/config"

// Tests run against the packages' TypeScript sources (the "source" export condition), so a
// change is tested without a build step; `npm test` still runs `tsc -b` first for the types.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
