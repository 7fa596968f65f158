/**
 * Measures the gate's counter stores: the latency of one reservation plus its settlement
 * (p50, p99) and the admissions per second, at concurrency 1 and 50, without and with the
 * app-wide spend cap. It writes the figures, the machine and the command into the gate's
 * section of docs/benchmarks.md.
 *
 *   npm run bench:gate                   PGlite in memory only
 *   TEST_DATABASE_URL=postgres://... \
 *   TEST_REDIS_URL=redis://127.0.0.1:6379 npm run bench:gate
 *                                        also PostgreSQL, and Redis behind the Upstash REST bridge
 *
 * Each worker admits requests for users drawn in turn from a pool, as many users of an app
 * would, so no user's minute window grows past a few entries.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { writeReportSection } from "@/scripts/bench/report-file";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Database } from "@/lib/db/client";
import * as schema from "@/lib/db/schema";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import type { CounterStore, ReserveInput } from "@/lib/limits/store";
import { createUpstashStore } from "@/lib/limits/upstash-store";
import { startUpstashBridge } from "@/tests/upstash-bridge";

const ROOT = path.resolve(__dirname, "..");
const MIGRATIONS_FOLDER = path.join(ROOT, "drizzle");
const REPORT = path.join(ROOT, "docs", "benchmarks.md");
const SECTION_START = "<!-- bench:gate:start -->";
const SECTION_END = "<!-- bench:gate:end -->";
const CONCURRENCIES = [1, 50];
const USER_POOL_SIZE = 5_000;

// Limits no run reaches, so every reservation is admitted and the figures measure the store.
const limits = { ...DEFAULT_PLANS.enterprise, requestsPerMinute: 1_000_000, requestsPerDay: 1_000_000, tokensPerDay: 1_000_000_000 };
const spendCap = { capMicros: 1_000_000_000_000_000, estimateCostMicros: (outputCap: number) => 100 + outputCap };

type Target = { name: string; detail: string; store: CounterStore; close: () => Promise<void> };
type Result = { store: string; spendCap: boolean; concurrency: number; operations: number; p50: number; p99: number; perSecond: number };

async function pgliteTarget(): Promise<Target> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");
  const client = new PGlite("memory://");
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  const version = (await client.query<{ server_version: string }>("show server_version")).rows[0]!.server_version;
  return {
    name: "PGlite (in memory)",
    detail: `PGlite ${version}, in this process`,
    store: createPostgresStore(async () => db as unknown as Database),
    close: () => client.close(),
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");
  // The pool size of lib/db/client.ts, so the figures match the app's connection limit.
  const client = postgres(url, { max: 10, onnotice: () => {} });
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  const [row] = await client<{ server_version: string }[]>`show server_version`;
  return {
    name: "PostgreSQL",
    detail: `PostgreSQL ${row!.server_version} on ${new URL(url).host}, 10 connections`,
    store: createPostgresStore(async () => db as unknown as Database),
    close: () => client.end(),
  };
}

async function upstashTarget(redisUrl: string): Promise<Target> {
  const token = randomBytes(24).toString("base64url");
  const bridge = await startUpstashBridge({ redisUrl, token });
  const { default: IORedis } = await import("ioredis");
  const redis = new IORedis(redisUrl);
  const info = await redis.info("server");
  redis.disconnect();
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
  return {
    name: "Upstash REST bridge",
    detail: `@upstash/redis over HTTP to tests/upstash-bridge.ts in this process, then Redis ${version} on ${new URL(redisUrl).host}`,
    store: createUpstashStore({ url: bridge.url, token, keyPrefix: `bench-${randomBytes(4).toString("hex")}` }),
    close: () => bridge.close(),
  };
}

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

/** Runs `concurrency` workers that reserve and settle back to back for `durationMs`. */
async function measure(target: Target, options: { concurrency: number; withSpendCap: boolean; durationMs: number }): Promise<Result> {
  const users = Array.from({ length: USER_POOL_SIZE }, () => randomUUID());
  let next = 0;
  const latencies: number[] = [];
  const startedAt = performance.now();
  const endsAt = startedAt + options.durationMs;

  async function worker() {
    while (performance.now() < endsAt) {
      const input: ReserveInput = {
        userId: users[next++ % users.length]!,
        limits,
        promptTokens: 200,
        maxOutputTokens: 1_000,
        minOutputTokens: 16,
        now: new Date(),
        spendCap: options.withSpendCap ? spendCap : undefined,
      };
      const operationStartedAt = performance.now();
      const result = await target.store.reserve(input);
      if (!result.admitted) throw new Error(`The benchmark's reservation was rejected with ${result.code}.`);
      await target.store.settle({
        reservation: result.reservation,
        usedTokens: Math.floor(result.reservation.reservedTokens / 2),
        usedCostMicros: Math.floor((result.reservation.reservedCostMicros ?? 0) / 2),
      });
      latencies.push(performance.now() - operationStartedAt);
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    store: target.name,
    spendCap: options.withSpendCap,
    concurrency: options.concurrency,
    operations: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    perSecond: sorted.length / elapsedSeconds,
  };
}

function renderSection(input: { results: Result[]; targets: Target[]; durationMs: number; command: string; startedAt: Date }): string {
  const cpus = os.cpus();
  const rows = input.results.map(
    (result) =>
      `| ${result.store} | ${result.spendCap ? "yes" : "no"} | ${result.concurrency} | ${result.operations.toLocaleString("en-US")} | ` +
      `${result.p50.toFixed(2)} | ${result.p99.toFixed(2)} | ${Math.round(result.perSecond).toLocaleString("en-US")} |`,
  );
  return [
    SECTION_START,
    "## Gate: reserve plus settle",
    "",
    "One operation is a reservation (`CounterStore.reserve`) followed by its settlement (`CounterStore.settle`),",
    `timed together. Each configuration runs for ${input.durationMs / 1000} s after a warm-up, with workers that draw`,
    `users in turn from a pool of ${USER_POOL_SIZE.toLocaleString("en-US")}. Every reservation is admitted. With the spend cap,`,
    "each reservation also goes through the app-wide daily spend counter: in PostgreSQL a row that every",
    "reservation locks until it commits, in Redis a second script.",
    "",
    "| store | spend cap | concurrency | operations | p50 ms | p99 ms | admissions/s |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `- Run: ${input.startedAt.toISOString()}, \`${input.command}\``,
    `- Machine: ${os.availableParallelism()} CPUs (\`nproc\`), ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`,
    ...input.targets.map((target) => `- ${target.name}: ${target.detail}`),
    "- The Upstash figures include the bridge, which runs in the same process as the client: they measure",
    "  this code path on one machine, not Upstash's service, where each step adds a network round trip.",
    SECTION_END,
  ].join("\n");
}


async function main() {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "5" } } });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`Invalid --seconds ${values.seconds}: expected a positive number.`);
  const durationMs = seconds * 1000;
  const startedAt = new Date();

  const targets: Target[] = [await pgliteTarget()];
  if (process.env.TEST_DATABASE_URL) targets.push(await postgresTarget(process.env.TEST_DATABASE_URL));
  if (process.env.TEST_REDIS_URL) targets.push(await upstashTarget(process.env.TEST_REDIS_URL));

  const results: Result[] = [];
  try {
    for (const target of targets) {
      for (const withSpendCap of [false, true]) {
        for (const concurrency of CONCURRENCIES) {
          await measure(target, { concurrency, withSpendCap, durationMs: 500 });
          const result = await measure(target, { concurrency, withSpendCap, durationMs });
          results.push(result);
          console.log(
            `${result.store}, spend cap ${result.spendCap ? "on" : "off"}, concurrency ${result.concurrency}: ` +
              `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${Math.round(result.perSecond)} admissions/s`,
          );
        }
      }
    }
  } finally {
    await Promise.all(targets.map((target) => target.close()));
  }

  const environment = [
    process.env.TEST_DATABASE_URL ? "TEST_DATABASE_URL=<url>" : "",
    process.env.TEST_REDIS_URL ? `TEST_REDIS_URL=${process.env.TEST_REDIS_URL}` : "",
  ].filter(Boolean);
  const command = [...environment, "npm run bench:gate", ...(seconds === 5 ? [] : ["--", `--seconds ${seconds}`])].join(" ");
  writeReportSection({ start: SECTION_START, end: SECTION_END, section: renderSection({ results, targets, durationMs, command, startedAt }) });
  console.log(`Wrote the gate's section of ${path.relative(process.cwd(), REPORT)}.`);
}

main().catch((error: unknown) => {
  console.error("bench-gate failed:", error);
  process.exit(1);
});
