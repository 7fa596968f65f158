import { defineConfig, devices } from "@playwright/test";

// Browser tests run against a production build (`next build && next start`), the local
// OpenAI-compatible server in e2e/, and a local OpenID Connect provider standing in for Google.
// With TEST_DATABASE_URL set (CI sets it) the app uses that PostgreSQL database; otherwise a
// fresh PGlite folder.
const APP_PORT = 3210;
const MODEL_PORT = 4010;
const OIDC_PORT = 4020;
export const APP_URL = `http://localhost:${APP_PORT}`;
export const MODEL_SERVER_URL = `http://127.0.0.1:${MODEL_PORT}`;
/** URL of the local OpenID Connect provider that replaces Google (e2e/oidc-server.ts). */
export const OIDC_SERVER_URL = `http://127.0.0.1:${OIDC_PORT}`;

const appEnvironment: Record<string, string> = {
  NODE_ENV: "production",
  LOG_LEVEL: "warn",
  APP_URL,
  JWT_ACCESS_SECRET: "e2e-access-secret-0123456789-abcdefghijklmnop",
  JWT_REFRESH_SECRET: "e2e-refresh-secret-0123456789-abcdefghijklmno",
  OPENAI_API_KEY: "sk-e2e-local",
  OPENAI_BASE_URL: `${MODEL_SERVER_URL}/v1`,
  ADMIN_EMAILS: "admin@example.test",
  PGLITE_DIR: ".data/e2e-pglite",
  DATABASE_URL: process.env.TEST_DATABASE_URL ?? "",
  AUTH_SECRET: "e2e-auth-secret-0123456789-abcdefghijklmnopqr",
  AUTH_GOOGLE_ID: "tollgate-e2e",
  AUTH_GOOGLE_SECRET: "tollgate-e2e-secret",
  AUTH_GOOGLE_ISSUER: OIDC_SERVER_URL,
};

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 30_000,
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results",
  use: {
    baseURL: APP_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      // Debian's Chromium: Playwright cannot download its own browser on this network.
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: [
    {
      command: `node_modules/.bin/tsx e2e/openai-server.ts --port ${MODEL_PORT}`,
      url: `${MODEL_SERVER_URL}/__control/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node_modules/.bin/tsx e2e/oidc-server.ts --port ${OIDC_PORT}`,
      url: `${OIDC_SERVER_URL}/__control/health`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      // `npm test` builds once before the unit and browser tests; run `npm run build` first when
      // running `npm run test:e2e` alone.
      command: `rm -rf .data/e2e-pglite && node_modules/.bin/next start -p ${APP_PORT} -H 127.0.0.1`,
      url: `${APP_URL}/sign-in`,
      env: appEnvironment,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "pipe",
    },
  ],
});
