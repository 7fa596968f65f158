// Starts `next dev` on the embedded defaults. JWT secrets that are not set are generated once
// and kept in .data/dev-secrets.json, so sessions survive restarts of the dev server.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import nextEnv from "@next/env";

const secretsFile = path.join(".data", "dev-secrets.json");

function loadSecrets() {
  if (existsSync(secretsFile)) return JSON.parse(readFileSync(secretsFile, "utf8"));
  const secrets = {
    JWT_ACCESS_SECRET: randomBytes(48).toString("base64url"),
    JWT_REFRESH_SECRET: randomBytes(48).toString("base64url"),
  };
  mkdirSync(path.dirname(secretsFile), { recursive: true });
  writeFileSync(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  console.log(`Generated development JWT secrets in ${secretsFile}.`);
  return secrets;
}

// Load .env files first, as next dev would, so secrets set there win over generated ones.
nextEnv.loadEnvConfig(process.cwd(), true);
const environment = { ...process.env };
for (const [name, value] of Object.entries(loadSecrets())) {
  if (!environment[name]) environment[name] = value;
}

const nextBin = path.join("node_modules", "next", "dist", "bin", "next");
const child = spawn(process.execPath, [nextBin, "dev", ...process.argv.slice(2)], { stdio: "inherit", env: environment });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
