/**
 * Measures what the control layer costs per chat request: POST /api/chat (middleware, the
 * handler's token check and user lookup, the gate's reservation, settlement and the usage row)
 * against a baseline that streams the same model answer through the same Next.js server without
 * any of it. It writes the figures, the machine and the command into the overhead section of
 * docs/benchmarks.md.
 *
 *   npm run bench:overhead                         PostgreSQL, then Redis, at 127.0.0.1
 *   npm run bench:overhead -- --seconds 3 --rounds 1 --stores postgres
 *   npm run bench:overhead -- --reuse-build --no-report --cpu-profile /tmp/profiles
 *                                                  CPU profiles of the app, figures on the console
 *
 * Steps: copy the project (hard-linking node_modules) into a folder of its own, add the baseline
 * route (scripts/bench/baseline-route.ts) to the copy, `next build` it there, create a database
 * and users, and start the local OpenAI-compatible server (e2e/openai-server.ts, answering at
 * once) and `next start`. For Redis counters it also starts the Upstash REST bridge
 * (tests/upstash-bridge.ts). The project's own `.next` is never touched, and the baseline never
 * exists outside the copy.
 *
 * TEST_DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres);
 * the benchmark creates a database of its own there and drops it at the end. TEST_REDIS_URL names
 * the Redis server (default redis://127.0.0.1:6379); without a Redis there, the Redis phase is
 * skipped. Only loopback addresses are accepted.
 */
import { execFileSync } from "node:child_process";
import { writeReportSection } from "@/scripts/bench/report-file";
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Database } from "@/lib/db/client";
import * as schema from "@/lib/db/schema";
import { BASELINE_ROUTE_FILE, BASELINE_ROUTE_PATH, BASELINE_ROUTE_SOURCE } from "@/scripts/bench/baseline";
import { createDatabase, loopbackUrl } from "@/scripts/bench/database";
import { runLoad, summarise, type LoadRequest } from "@/scripts/bench/load";
import { cpuMilliseconds, databaseCpuMilliseconds, freePort, machineBusyMilliseconds, runToCompletion, startChild, stopChild, waitUntilReady, type Child } from "@/scripts/bench/processes";
import { renderSection, type Measurement, type ReportInput } from "@/scripts/bench/report";
import { insertBenchUsers, signCookies, type BenchUser } from "@/scripts/bench/users";
import type { VerifyReport } from "@/scripts/bench/verify-tokens";

const ROOT = path.resolve(__dirname, "..");
const REPORT = path.join(ROOT, "docs", "benchmarks.md");
const SECTION_START = "<!-- bench:overhead:start -->";
const SECTION_END = "<!-- bench:overhead:end -->";
const APP_PORTS = { first: 3800, last: 3899 };
const SERVICE_PORTS = { first: 4800, last: 4899 };
const TSX = path.join("node_modules", ".bin", "tsx");
const NEXT = path.join("node_modules", ".bin", "next");
const MESSAGE = "Explain in one paragraph what a token budget is.";
const REQUEST_TIMEOUT_MS = 30_000;
// Each variant runs this long before the first measured run, and each user-count run half as
// long. A server just started ran the gated route about a third slower for its first 10 s of
// load, because that route has the most code for V8 to optimise. A short warm-up therefore
// measured start-up rather than steady state (see the notes in docs/benchmarks.md).
const WARM_UP_SECONDS = 15;
// Far above what this kind of machine completes in a run; it bounds a run however fast it goes.
const MAX_REQUESTS_PER_SECOND = 20_000;

export type Variant = "gated" | "baseline" | "bare";
export type StoreKind = "postgres" | "redis";

const STORE_NAMES: Record<StoreKind, string> = { postgres: "PostgreSQL", redis: "Redis (Upstash REST bridge)" };

type Options = {
  seconds: number;
  rounds: number;
  concurrencies: number[];
  users: number;
  userCounts: number[];
  stores: StoreKind[];
  buildDir: string;
  reuseBuild: boolean;
  writeReport: boolean;
  /** Folder for V8 CPU profiles of the app server, one per phase; none when unset. */
  cpuProfileDir: string | null;
};

type Phase = { store: StoreKind; app: Child; baseUrl: string; appOrigin: string; extra: Child[] };

function parseList(value: string, name: string): number[] {
  const numbers = value.split(",").map((part) => Number(part.trim()));
  if (numbers.some((number) => !Number.isInteger(number) || number < 1)) {
    throw new Error(`Invalid --${name} ${value}: expected positive whole numbers separated by commas, such as 1,16,64.`);
  }
  return numbers;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "1,16,64" },
      users: { type: "string", default: "1000" },
      "user-counts": { type: "string", default: "1,10,1000,10000" },
      stores: { type: "string", default: "postgres,redis" },
      "build-dir": { type: "string", default: path.join(os.tmpdir(), "tollgate-bench-overhead") },
      "reuse-build": { type: "boolean", default: false },
      "no-report": { type: "boolean", default: false },
      "cpu-profile": { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0 && seconds <= 60)) throw new Error(`Invalid --seconds ${values.seconds}: expected a number of seconds from 1 to 60.`);
  const [rounds] = parseList(values.rounds, "rounds");
  const [users] = parseList(values.users, "users");
  const stores = values.stores.split(",").map((store) => store.trim());
  for (const store of stores) {
    if (store !== "postgres" && store !== "redis") throw new Error(`Invalid --stores ${values.stores}: expected postgres, redis or both.`);
  }
  return {
    seconds,
    rounds: rounds!,
    concurrencies: parseList(values.concurrency, "concurrency"),
    users: users!,
    userCounts: parseList(values["user-counts"], "user-counts"),
    stores: stores as StoreKind[],
    buildDir: path.resolve(values["build-dir"]),
    reuseBuild: values["reuse-build"],
    writeReport: !values["no-report"],
    cpuProfileDir: values["cpu-profile"] ? path.resolve(values["cpu-profile"]) : null,
  };
}

/** Copies the project into `buildDir` with the baseline route added, and builds it there. */
async function buildCopy(options: Options): Promise<void> {
  const { buildDir } = options;
  if (options.reuseBuild && existsSync(path.join(buildDir, ".next", "BUILD_ID")) && existsSync(path.join(buildDir, BASELINE_ROUTE_FILE))) {
    console.log(`Reusing the build in ${buildDir}.`);
    return;
  }
  console.log(`Copying the project to ${buildDir} and building it with the baseline route...`);
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  const skipped = new Set(["node_modules", ".next", ".data", ".git", "test-results", "playwright-report"]);
  cpSync(ROOT, buildDir, {
    recursive: true,
    filter: (source) => source === ROOT || !skipped.has(path.relative(ROOT, source).split(path.sep)[0]!),
  });
  // Hard links: a copy of node_modules costs no space, and Next.js resolves packages inside the
  // project as it would in the original, which a symbolic link would not give.
  execFileSync("cp", ["-al", path.join(ROOT, "node_modules"), path.join(buildDir, "node_modules")]);

  const routeFile = path.join(buildDir, BASELINE_ROUTE_FILE);
  mkdirSync(path.dirname(routeFile), { recursive: true });
  cpSync(path.join(ROOT, BASELINE_ROUTE_SOURCE), routeFile);

  const startedAt = performance.now();
  await runToCompletion({
    name: "next build",
    command: path.join(buildDir, NEXT),
    args: ["build", "--no-lint"],
    cwd: buildDir,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" },
    logFile: path.join(buildDir, "bench-build.log"),
  });
  console.log(`Built in ${Math.round((performance.now() - startedAt) / 1000)} s.`);
}

async function isRedisReachable(url: URL): Promise<boolean> {
  const { default: IORedis } = await import("ioredis");
  const redis = new IORedis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

function planLimits() {
  // Limits no run reaches, so every request is admitted and the figures measure the work.
  const roomy = { tokensPerDay: 1_000_000_000_000, requestsPerDay: 1_000_000_000, requestsPerMinute: 1_000_000_000 };
  return JSON.stringify({ free: roomy });
}

async function startPhase(input: {
  store: StoreKind;
  buildDir: string;
  databaseUrl: URL;
  redisUrl: URL;
  modelServerUrl: string;
  secrets: { access: string; refresh: string };
  cpuProfileDir: string | null;
}): Promise<Phase> {
  const { store, buildDir } = input;
  const extra: Child[] = [];
  const counterEnvironment: Record<string, string> = {};
  if (store === "redis") {
    const bridgePort = await freePort(SERVICE_PORTS, [Number(new URL(input.modelServerUrl).port)]);
    const token = randomBytes(24).toString("base64url");
    const bridge = startChild({
      name: "Upstash REST bridge",
      command: path.join(buildDir, TSX),
      args: ["tests/upstash-bridge.ts", "--port", String(bridgePort), "--token", token, "--redis-url", input.redisUrl.toString()],
      cwd: buildDir,
      env: { ...process.env },
      logFile: path.join(buildDir, "bench-bridge.log"),
    });
    extra.push(bridge);
    const bridgeUrl = `http://127.0.0.1:${bridgePort}`;
    await waitUntilReady(bridge, async () => (await fetch(bridgeUrl, { method: "POST", body: '["PING"]', headers: { authorization: `Bearer ${token}` } })).ok, 30_000);
    counterEnvironment.UPSTASH_REDIS_REST_URL = bridgeUrl;
    counterEnvironment.UPSTASH_REDIS_REST_TOKEN = token;
    counterEnvironment.UPSTASH_KEY_PREFIX = `bench-${randomBytes(4).toString("hex")}`;
  }

  const port = await freePort(APP_PORTS);
  const appOrigin = `http://localhost:${port}`;
  const startArgs = ["start", "-p", String(port), "-H", "127.0.0.1"];
  // Node refuses --cpu-prof in NODE_OPTIONS, so Node runs the Next.js CLI, which serves in its
  // own process, with the flag. Node writes the profile when the server exits.
  const profileArgs = input.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.join(input.cpuProfileDir, store)}`] : null;
  const app = startChild({
    name: `next start (${store} counters)`,
    command: profileArgs ? process.execPath : path.join(buildDir, NEXT),
    args: profileArgs ? [...profileArgs, path.join(buildDir, "node_modules", "next", "dist", "bin", "next"), ...startArgs] : startArgs,
    cwd: buildDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      LOG_LEVEL: "info",
      APP_URL: appOrigin,
      DATABASE_URL: input.databaseUrl.toString(),
      JWT_ACCESS_SECRET: input.secrets.access,
      JWT_REFRESH_SECRET: input.secrets.refresh,
      OPENAI_API_KEY: "sk-bench-local",
      OPENAI_BASE_URL: `${input.modelServerUrl}/v1`,
      PLAN_LIMITS: planLimits(),
      ...counterEnvironment,
    },
    logFile: path.join(buildDir, `bench-app-${store}.log`),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  // Middleware returns 401 without a session once the server is up.
  await waitUntilReady(app, async () => (await fetch(`${baseUrl}/api/me`)).status === 401, 60_000);
  return { store, app, baseUrl, appOrigin, extra: [...extra] };
}

async function stopPhase(phase: Phase): Promise<void> {
  await stopChild(phase.app);
  await Promise.all(phase.extra.map(stopChild));
}

function requestBuilder(variant: Variant, phase: Phase, benchUsers: BenchUser[], cookies: string[]): (index: number) => LoadRequest {
  const body = JSON.stringify({ message: MESSAGE });
  if (variant === "gated") {
    return (index) => ({ headers: { cookie: cookies[index % cookies.length]!, origin: phase.appOrigin }, body });
  }
  if (variant === "baseline") {
    return (index) => ({ headers: { "x-bench-user-id": benchUsers[index % benchUsers.length]!.id }, body });
  }
  return () => ({ headers: {}, body });
}

async function measure(input: {
  phase: Phase;
  variant: Variant;
  concurrency: number;
  seconds: number;
  benchUsers: BenchUser[];
  cookies: string[];
}): Promise<Measurement["summary"]> {
  const { phase, variant, concurrency, seconds } = input;
  const loadAverage = os.loadavg()[0]!;
  const bridge = phase.extra[0];
  const appCpuAtStart = cpuMilliseconds(phase.app.process.pid);
  const bridgeCpuAtStart = cpuMilliseconds(bridge?.process.pid);
  const databaseCpuAtStart = databaseCpuMilliseconds();
  const machineBusyAtStart = machineBusyMilliseconds();
  const result = await runLoad({
    url: new URL(variant === "gated" ? "/api/chat" : BASELINE_ROUTE_PATH, phase.baseUrl),
    concurrency,
    durationMs: seconds * 1000,
    maxRequests: Math.ceil(seconds * MAX_REQUESTS_PER_SECOND),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    buildRequest: requestBuilder(variant, phase, input.benchUsers, input.cookies),
  });
  if (result.failed > 0) {
    throw new Error(`${result.failed} of ${result.failed + result.completed} ${variant} requests failed, for example: ${result.failures.join(" | ")}`);
  }
  const perRequest = (atStart: number | null, atEnd: number | null) =>
    atStart === null || atEnd === null || result.completed === 0 ? null : (atEnd - atStart) / result.completed;
  return {
    ...summarise(result),
    loadAverage,
    appCpuMsPerRequest: perRequest(appCpuAtStart, cpuMilliseconds(phase.app.process.pid)),
    bridgeCpuMsPerRequest: perRequest(bridgeCpuAtStart, cpuMilliseconds(bridge?.process.pid)),
    databaseCpuMsPerRequest: perRequest(databaseCpuAtStart, databaseCpuMilliseconds()),
    machineCpuMsPerRequest: perRequest(machineBusyAtStart, machineBusyMilliseconds()),
  };
}

function describeMeasurement(measurement: Measurement): string {
  const { store, variant, concurrency, users, summary } = measurement;
  return (
    `${store} ${variant.padEnd(8)} c=${String(concurrency).padStart(2)} users=${users}: ${summary.requestsPerSecond.toFixed(0)} req/s, ` +
    `p50 ${summary.latencyP50.toFixed(2)} ms, p99 ${summary.latencyP99.toFixed(2)} ms, ` +
    `first byte p50 ${summary.firstByteP50.toFixed(2)} ms, CPU ms/request: app ${summary.appCpuMsPerRequest?.toFixed(2) ?? "?"}, ` +
    `database ${summary.databaseCpuMsPerRequest?.toFixed(2) ?? "?"}, machine ${summary.machineCpuMsPerRequest?.toFixed(2) ?? "?"}, ` +
    `load ${summary.loadAverage.toFixed(2)}`
  );
}

async function runPhase(input: { phase: Phase; options: Options; benchUsers: BenchUser[] }): Promise<Measurement[]> {
  const { phase, options, benchUsers } = input;
  const measurements: Measurement[] = [];
  const mainUsers = benchUsers.slice(0, options.users);
  const cookies = await signCookies(mainUsers);
  const variants: Variant[] = ["gated", "baseline", "bare"];

  for (const variant of variants) {
    await measure({ phase, variant, concurrency: 16, seconds: WARM_UP_SECONDS, benchUsers: mainUsers, cookies });
  }

  for (let round = 0; round < options.rounds; round++) {
    for (const concurrency of options.concurrencies) {
      // The order turns each round, so no variant always runs first or last.
      const order = variants.map((_, index) => variants[(index + round) % variants.length]!);
      for (const variant of order) {
        const summary = await measure({ phase, variant, concurrency, seconds: options.seconds, benchUsers: mainUsers, cookies });
        const measurement: Measurement = { store: phase.store, variant, concurrency, users: mainUsers.length, round, summary };
        measurements.push(measurement);
        console.log(describeMeasurement(measurement));
      }
    }
  }

  // How the gated cost grows with the number of users, at one concurrency.
  const scalingConcurrency = options.concurrencies.includes(16) ? 16 : options.concurrencies[0]!;
  for (const userCount of options.userCounts) {
    const pool = benchUsers.slice(0, userCount);
    const poolCookies = await signCookies(pool);
    await measure({ phase, variant: "gated", concurrency: scalingConcurrency, seconds: WARM_UP_SECONDS / 2, benchUsers: pool, cookies: poolCookies });
    const summary = await measure({ phase, variant: "gated", concurrency: scalingConcurrency, seconds: options.seconds, benchUsers: pool, cookies: poolCookies });
    const measurement: Measurement = { store: phase.store, variant: "gated", concurrency: scalingConcurrency, users: pool.length, round: -1, summary };
    measurements.push(measurement);
    console.log(describeMeasurement(measurement));
  }
  return measurements;
}

async function runVerifyBenchmark(): Promise<{ report: VerifyReport; pinned: boolean }> {
  const script = path.join("scripts", "bench", "verify-tokens.ts");
  const hasTaskset = (() => {
    try {
      execFileSync("taskset", ["-c", "0", "true"]);
      return true;
    } catch {
      return false;
    }
  })();
  const command = hasTaskset ? "taskset" : path.join(ROOT, TSX);
  const args = hasTaskset ? ["-c", "0", path.join(ROOT, TSX), script] : [script];
  const output = execFileSync(command, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env } });
  const lastLine = output.trim().split("\n").at(-1)!;
  return { report: JSON.parse(lastLine) as VerifyReport, pinned: hasTaskset };
}


function commandLine(options: Options): string {
  const defaults = readOptionsDefaults();
  const flags: string[] = [];
  if (options.seconds !== defaults.seconds) flags.push(`--seconds ${options.seconds}`);
  if (options.rounds !== defaults.rounds) flags.push(`--rounds ${options.rounds}`);
  if (options.concurrencies.join(",") !== defaults.concurrencies) flags.push(`--concurrency ${options.concurrencies.join(",")}`);
  if (options.users !== defaults.users) flags.push(`--users ${options.users}`);
  if (options.userCounts.join(",") !== defaults.userCounts) flags.push(`--user-counts ${options.userCounts.join(",")}`);
  if (options.stores.join(",") !== defaults.stores) flags.push(`--stores ${options.stores.join(",")}`);
  return ["npm run bench:overhead", ...(flags.length > 0 ? ["--", ...flags] : [])].join(" ");
}

function readOptionsDefaults() {
  return { seconds: 5, rounds: 3, concurrencies: "1,16,64", users: 1000, userCounts: "1,10,1000,10000", stores: "postgres,redis" };
}

async function main() {
  const options = readOptions();
  const startedAt = new Date();
  const adminUrl = loopbackUrl(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "TEST_DATABASE_URL");
  const redisUrl = loopbackUrl(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", "TEST_REDIS_URL");
  const stores = [...options.stores];
  if (stores.includes("redis") && !(await isRedisReachable(redisUrl))) {
    console.warn(`No Redis responded at ${redisUrl.host}: the Redis phase is skipped. Start Redis there to include it.`);
    stores.splice(stores.indexOf("redis"), 1);
  }

  console.log("Timing access-token verification on one CPU...");
  const verify = await runVerifyBenchmark();

  await buildCopy(options);

  // The app and this process sign with the same secrets, so the cookies made here verify there.
  const secrets = { access: randomBytes(48).toString("base64url"), refresh: randomBytes(48).toString("base64url") };
  process.env.JWT_ACCESS_SECRET = secrets.access;
  process.env.JWT_REFRESH_SECRET = secrets.refresh;

  const database = await createDatabase(adminUrl);
  const modelPort = await freePort(SERVICE_PORTS);
  const modelServer = startChild({
    name: "OpenAI-compatible server",
    command: path.join(options.buildDir, TSX),
    args: ["e2e/openai-server.ts", "--port", String(modelPort)],
    cwd: options.buildDir,
    env: { ...process.env },
    logFile: path.join(options.buildDir, "bench-model-server.log"),
  });
  const modelServerUrl = `http://127.0.0.1:${modelPort}`;

  const measurements: Measurement[] = [];
  const phases: Array<Pick<ReportInput["phases"][number], "store" | "detail">> = [];
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const client = postgres(database.url.toString(), { max: 4, onnotice: () => {} });
  try {
    await waitUntilReady(modelServer, async () => (await fetch(`${modelServerUrl}/__control/health`)).ok, 30_000);
    let benchUsers: BenchUser[] | null = null;

    for (const store of stores) {
      const phase = await startPhase({
        store,
        buildDir: options.buildDir,
        databaseUrl: database.url,
        redisUrl,
        modelServerUrl,
        secrets,
        cpuProfileDir: options.cpuProfileDir,
      });
      try {
        // The first server start has applied the migrations, so the tables exist now.
        benchUsers ??= await insertBenchUsers(drizzle(client, { schema }) as unknown as Database, Math.max(options.users, ...options.userCounts));
        measurements.push(...(await runPhase({ phase, options, benchUsers })));
      } finally {
        await stopPhase(phase);
      }
      phases.push({ store, detail: await describeStore(store, client, redisUrl) });
    }
  } finally {
    await client.end();
    await stopChild(modelServer);
    await database.drop();
  }

  const section = renderSection({
    sectionStart: SECTION_START,
    sectionEnd: SECTION_END,
    startedAt,
    command: commandLine(options),
    options: { seconds: options.seconds, rounds: options.rounds, users: options.users, warmUpSeconds: WARM_UP_SECONDS },
    storeNames: STORE_NAMES,
    phases,
    measurements,
    verify: verify.report,
    verifyPinned: verify.pinned,
  });
  if (options.writeReport) {
    writeReportSection({ start: SECTION_START, end: SECTION_END, section });
    console.log(`Wrote the overhead section of ${path.relative(process.cwd(), REPORT)}.`);
  } else {
    console.log(section);
  }
}

async function describeStore(store: StoreKind, client: import("postgres").Sql, redisUrl: URL): Promise<string> {
  const [row] = await client<{ server_version: string }[]>`show server_version`;
  const postgresDetail = `PostgreSQL ${row!.server_version} on 127.0.0.1 (users, chats, usage rows${store === "postgres" ? " and counters" : ""})`;
  if (store === "postgres") return postgresDetail;
  const { default: IORedis } = await import("ioredis");
  const redis = new IORedis(redisUrl.toString());
  const info = await redis.info("server");
  redis.disconnect();
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  return `counters in Redis ${version} on ${redisUrl.host} through tests/upstash-bridge.ts (its own process); ${postgresDetail}`;
}

main().catch((error: unknown) => {
  console.error("bench-overhead failed:", error);
  process.exit(1);
});
