import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { lockDataFolder } from "@/lib/db/pglite-lock";

function freshFolder(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), "tollgate-lock-")), "pglite");
}

describe("embedded database lock", () => {
  it("is taken and written with the pid", () => {
    const dir = freshFolder();
    lockDataFolder(dir);
    expect(readFileSync(`${dir}.lock`, "utf8")).toBe(String(process.pid));
  });

  it("is taken again by the same process", () => {
    const dir = freshFolder();
    lockDataFolder(dir);
    expect(() => lockDataFolder(dir)).not.toThrow();
  });

  it("rejects a second running process", async () => {
    const dir = freshFolder();
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      writeFileSync(`${dir}.lock`, String(other.pid));
      expect(() => lockDataFolder(dir)).toThrow(`is open in another process (pid ${other.pid})`);
    } finally {
      other.kill();
    }
  });

  it("takes over a lock whose process ended", () => {
    const dir = freshFolder();
    const ended = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    writeFileSync(`${dir}.lock`, ended.stdout.toString());
    lockDataFolder(dir);
    expect(readFileSync(`${dir}.lock`, "utf8")).toBe(String(process.pid));
  });

  it("is released when the process exits", () => {
    const dir = freshFolder();
    const lockModule = path.resolve("lib/db/pglite-lock.ts");
    const run = spawnSync(path.resolve("node_modules/.bin/tsx"), [
      "--eval",
      `import { existsSync } from "node:fs"; import { lockDataFolder } from ${JSON.stringify(lockModule)};
       lockDataFolder(${JSON.stringify(dir)}); process.stdout.write(String(existsSync(${JSON.stringify(`${dir}.lock`)})));`,
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout.toString()).toBe("true");
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });
});
