import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "e2e/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A run that executed no test is a failure, never a silent pass.
    passWithNoTests: false,
    globalSetup: ["e2e/global-setup.ts"],
  },
});
