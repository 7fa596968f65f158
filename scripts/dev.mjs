// Starts `next dev` on the embedded defaults. Secrets that are not set are generated once
// and kept in .data/dev-secrets.json, so sessions survive restarts of the dev server.
import { spawn } from "node:child_process";
import path from "node:path";
import { loadEnvironment } from "./environment.mjs";

loadEnvironment();

/** Returns the port given as `-p N`, `--port N` or `--port=N`, else PORT, else undefined. */
function readPort(args) {
  for (const [index, arg] of args.entries()) {
    if (arg === "-p" || arg === "--port") return args[index + 1];
    if (arg.startsWith("--port=")) return arg.slice("--port=".length);
  }
  return process.env.PORT;
}

// Redirects are built from APP_URL, which defaults to port 3000. On another port without APP_URL,
// sign-in would send people to port 3000.
const port = readPort(process.argv.slice(2));
if (port && port !== "3000" && !process.env.APP_URL) {
  process.env.APP_URL = `http://localhost:${port}`;
  console.log(`APP_URL is not set: using ${process.env.APP_URL} for port ${port}.`);
}

const nextBin = path.join("node_modules", "next", "dist", "bin", "next");
const child = spawn(process.execPath, [nextBin, "dev", ...process.argv.slice(2)], { stdio: "inherit", env: process.env });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
