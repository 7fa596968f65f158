import path from "node:path";
import { defineConfig } from "vitest/config";

// Every test runs on an in-memory PGlite. When TEST_DATABASE_URL is set (CI sets it), the same
// integration tests run a second time against that PostgreSQL server, and the two-instance tests
// run against `next start` processes. When TEST_REDIS_URL is set (CI sets it too), the integration
// tests run a third time with the limit counters in that Redis, reached through the Upstash REST
// bridge in tests/upstash-bridge.ts.
const postgresUrl = process.env.TEST_DATABASE_URL;
const redisUrl = process.env.TEST_REDIS_URL;

const shared = {
  resolve: { alias: { "@": path.resolve(__dirname) } },
};

const timeouts = { testTimeout: 30_000, hookTimeout: 60_000 };

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: "pglite",
          include: ["tests/**/*.test.ts", "e2e/openai-server.test.ts"],
          exclude: ["tests/instances/**", "tests/upstash/**"],
          env: { LOG_LEVEL: "silent", DATABASE_URL: "", PGLITE_DIR: "memory://" },
          ...timeouts,
        },
      },
      ...(postgresUrl
        ? [
            {
              ...shared,
              test: {
                name: "postgres",
                include: ["tests/integration/**/*.test.ts"],
                env: { LOG_LEVEL: "silent", DATABASE_URL: postgresUrl },
                ...timeouts,
              },
            },
            {
              ...shared,
              test: {
                name: "instances",
                include: ["tests/instances/**/*.test.ts"],
                env: { LOG_LEVEL: "silent", DATABASE_URL: postgresUrl },
                testTimeout: 120_000,
                hookTimeout: 120_000,
              },
            },
          ]
        : []),
      ...(redisUrl
        ? [
            {
              ...shared,
              test: {
                name: "upstash",
                include: ["tests/integration/**/*.test.ts", "tests/upstash/**/*.test.ts"],
                exclude: ["tests/integration/limits-postgres.test.ts"],
                setupFiles: ["tests/setup/upstash-bridge.ts"],
                env: { LOG_LEVEL: "silent", DATABASE_URL: "", PGLITE_DIR: "memory://" },
                ...timeouts,
              },
            },
          ]
        : []),
    ],
  },
});
