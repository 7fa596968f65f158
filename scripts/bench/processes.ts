import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export type PortRange = { first: number; last: number };

export type Child = { name: string; process: ChildProcess; logFile: string; output: string[] };

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** Finds a free port on 127.0.0.1 in `range`, skipping the ports in `taken` (ports already given to another server). */
export async function freePort(range: PortRange, taken: number[] = []): Promise<number> {
  for (let port = range.first; port <= range.last; port++) {
    if (!taken.includes(port) && (await isPortFree(port))) return port;
  }
  throw new Error(`No free port on 127.0.0.1 in ${range.first}-${range.last}.`);
}

/**
 * Starts a command in its own process group, so that stopping it also stops what it starts
 * (`next start` runs the server in a child process). Its output goes to `logFile`, and the last
 * lines are kept for error messages.
 */
export function startChild(input: { name: string; command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Child {
  const log = createWriteStream(input.logFile, { flags: "a" });
  const child = spawn(input.command, input.args, { cwd: input.cwd, env: input.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const started: Child = { name: input.name, process: child, logFile: input.logFile, output: [] };
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    started.output.push(chunk.toString());
    if (started.output.length > 50) started.output.shift();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  child.once("exit", () => log.end());
  return started;
}

/** Polls `isReady` until it returns true, or throws with the child's last output after `timeoutMs`. */
export async function waitUntilReady(child: Child, isReady: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) break;
    if (await isReady().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${child.name} did not become ready within ${timeoutMs} ms (log: ${child.logFile}):\n${child.output.join("").slice(-2_000)}`);
}

/** Stops a child's process group: SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child: Child): Promise<void> {
  const { process: running } = child;
  if (running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-running.pid!, signal);
      return true;
    } catch {
      return false;
    }
  };
  if (!signalGroup("SIGTERM")) return;
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped && signalGroup("SIGKILL")) await exited;
}

/** Runs a command to completion, with its output in `logFile`; throws when it exits with an error. */
export async function runToCompletion(input: { name: string; command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Promise<void> {
  const child = startChild(input);
  const code = await new Promise<number | null>((resolve) => child.process.once("exit", (exitCode) => resolve(exitCode)));
  if (code !== 0) throw new Error(`${input.name} failed with exit code ${code} (log: ${input.logFile}):\n${child.output.join("").slice(-3_000)}`);
}

// Linux reports process CPU time in clock ticks, which are 1/100 s on every common build.
const CLOCK_TICKS_PER_SECOND = 100;

type ProcessStat = { pid: number; name: string; parentPid: number; cpuMilliseconds: number };

function readStat(pid: string): ProcessStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in brackets may contain spaces, so the fields are counted after it.
    const nameEnd = stat.lastIndexOf(")");
    const fields = stat.slice(nameEnd + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return {
      pid: Number(pid),
      name: stat.slice(stat.indexOf("(") + 1, nameEnd),
      parentPid: Number(fields[1]),
      cpuMilliseconds: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return null;
  }
}

// Command names of every process of a PostgreSQL server (its backends included) and of Redis.
const DATABASE_PROCESS_NAMES = ["postgres", "redis-server"];

function readAllStats(): ProcessStat[] | null {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(readStat)
      .filter((stat): stat is ProcessStat => stat !== null);
  } catch {
    return null;
  }
}

/**
 * Returns the CPU time that the PostgreSQL and Redis servers on this machine have used so far, in
 * milliseconds. Servers run by another user count too, because /proc/PID/stat is readable by
 * all. Returns null without /proc.
 */
export function databaseCpuMilliseconds(): number | null {
  const stats = readAllStats();
  if (stats === null) return null;
  return stats.filter((stat) => DATABASE_PROCESS_NAMES.includes(stat.name)).reduce((sum, stat) => sum + stat.cpuMilliseconds, 0);
}

/** Returns the time that all CPUs of the machine have spent busy so far, in milliseconds, or null without /proc. */
export function machineBusyMilliseconds(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
    // The first line sums all CPUs, in ticks: user, nice, system, idle, iowait, irq, softirq, steal.
    const ticks = line.split(/\s+/).slice(1, 9).map(Number);
    const busy = ticks.reduce((sum, value) => sum + value, 0) - ticks[3]! - ticks[4]!;
    return (busy * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/**
 * Returns the CPU time that a process and all its descendants have used so far (user plus
 * system, threads included), in milliseconds, from /proc. The descendants count because tsx runs
 * its script in a child process. Returns null where /proc is missing or the process has ended.
 */
export function cpuMilliseconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const stats = readAllStats();
  if (stats === null) return null;
  if (!stats.some((stat) => stat.pid === pid)) return null;

  const tree = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stat of stats) {
      if (!tree.has(stat.pid) && tree.has(stat.parentPid)) {
        tree.add(stat.pid);
        grew = true;
      }
    }
  }
  return stats.filter((stat) => tree.has(stat.pid)).reduce((sum, stat) => sum + stat.cpuMilliseconds, 0);
}
