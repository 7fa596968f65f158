// Starts `next dev` on the embedded defaults. Secrets that are not set are generated once
// and kept in .data/dev-secrets.json, so sessions survive restarts of the dev server.
import { spawn } from "node:child_process";
import path from "node:path";
import { loadEnvironment } from "./environment.mjs";

loadEnvironment();

const nextBin = path.join("node_modules", "next", "dist", "bin", "next");
const child = spawn(process.execPath, [nextBin, "dev", ...process.argv.slice(2)], { stdio: "inherit", env: process.env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
