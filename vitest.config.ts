import path from "node:path";
import { defineConfig } from "vitest/config";

// Every test runs on an in-memory PGlite. When TEST_DATABASE_URL is set (CI sets it), the same
// integration tests run a second time against that PostgreSQL server.
const postgresUrl = process.env.TEST_DATABASE_URL;

const shared = {
  resolve: { alias: { "@": path.resolve(__dirname) } },
};

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: "pglite",
          include: ["tests/**/*.test.ts", "e2e/openai-server.test.ts"],
          env: { LOG_LEVEL: "silent", DATABASE_URL: "", PGLITE_DIR: "memory://" },
          testTimeout: 30_000,
          hookTimeout: 60_000,
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
                testTimeout: 30_000,
                hookTimeout: 60_000,
              },
            },
          ]
        : []),
    ],
  },
});
