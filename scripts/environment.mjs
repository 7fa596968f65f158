// Loads the environment as the app reads it: .env files first (as Next.js does), then, in
// development, secrets generated once and kept in .data/dev-secrets.json.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as nextEnv from "@next/env";

const secretsFile = path.join(".data", "dev-secrets.json");
// AUTH_SECRET is only used when Google sign-in is configured; generating it here means setting
// AUTH_GOOGLE_ID and AUTH_GOOGLE_SECRET is enough in development.
const SECRET_NAMES = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "AUTH_SECRET"];

function loadDevelopmentSecrets() {
  const secrets = existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, "utf8")) : {};
  const missing = SECRET_NAMES.filter((name) => !secrets[name]);
  if (missing.length === 0) return secrets;
  for (const name of missing) secrets[name] = randomBytes(48).toString("base64url");
  mkdirSync(path.dirname(secretsFile), { recursive: true });
  writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  console.log(`Generated development secrets (${missing.join(", ")}) in ${secretsFile}.`);
  return secrets;
}

/** Fills process.env from .env files and, outside production, from the development secrets. */
export function loadEnvironment({ development = true } = {}) {
  // @next/env is CommonJS: Node puts its exports under `default`, tsx (which runs scripts as
  // CommonJS) on the namespace itself.
  const loadEnvConfig = nextEnv.loadEnvConfig ?? nextEnv.default.loadEnvConfig;
  loadEnvConfig(process.cwd(), development);
  if (process.env.NODE_ENV === "production") return;
  for (const [name, value] of Object.entries(loadDevelopmentSecrets())) {
    if (!process.env[name]) process.env[name] = value;
  }
}
