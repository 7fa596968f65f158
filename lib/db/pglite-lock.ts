import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * Takes the lock file next to an embedded database folder (`.data/pglite.lock` for
 * `.data/pglite`), or throws naming the process that holds it. PGlite does not stop a second
 * process from opening the folder, and two processes writing one folder can damage it beyond
 * repair. A lock left by a process that has ended is taken over. The lock is released when this
 * process exits.
 */
export function lockDataFolder(dir: string): void {
  const folder = path.resolve(dir);
  const lockFile = `${folder}.lock`;

  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = openSync(lockFile, "wx");
      writeSync(handle, String(process.pid));
      closeSync(handle);
      process.once("exit", () => releaseLock(lockFile));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }

    const holder = Number(readFileSync(lockFile, "utf8").trim());
    if (holder === process.pid) return;
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      throw new Error(
        `The embedded database in ${dir} is open in another process (pid ${holder}). ` +
          "Only one process may open it at a time: stop that process (the dev server, for example) and try again, " +
          "or use PostgreSQL through DATABASE_URL.",
      );
    }
    // The process that took the lock has ended without releasing it.
    unlinkSync(lockFile);
  }
  throw new Error(`Failed to take the lock ${lockFile}: another process took it at the same moment. Try again.`);
}

function releaseLock(lockFile: string): void {
  try {
    if (readFileSync(lockFile, "utf8").trim() === String(process.pid)) unlinkSync(lockFile);
  } catch {
    // Already gone: nothing to release.
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
