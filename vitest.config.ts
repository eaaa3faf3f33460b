import { defineConfig } from "vitest/config"

// Tests run against the packages' TypeScript sources (the "@effect-connect/source" export
// condition, a name no user's tool sets), so a change is tested without a build step; `npm test`
// still runs `tsc -b` first for the types.
export default defineConfig({
  resolve: { conditions: ["@effect-connect/source"] },
  ssr: { resolve: { conditions: ["@effect-connect/source"], externalConditions: ["@effect-connect/source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
})
