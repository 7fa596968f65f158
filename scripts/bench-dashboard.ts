/**
 * Measures the dashboards' API on a database filled by `npm run db:seed`: `GET /api/usage` for
 * random seed users, and the admin console's `GET /api/admin/usage` (summary plus one page of
 * users). It writes the figures, the machine and the command into the dashboard section of
 * docs/benchmarks.md.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_seed npm run db:seed -- --rows 1000000
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/tollgate_seed npm run bench:dashboard
 *
 * The route handlers run in this process, as Next.js would call them: each request verifies its
 * access token, loads the user, queries and serialises JSON. HTTP parsing is not included. The
 * requests run one after another. Signing the users in adds one refresh-token row per user
 * to the database.
 */
import { writeReportSection } from "@/scripts/bench/report-file";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
// Loaded before the app's modules, which read the configuration when first used.
import "./load-environment.mjs";
import { GET as adminUsage } from "@/app/api/admin/usage/route";
import { GET as usage } from "@/app/api/usage/route";
import { createSession } from "@/lib/auth/session";
import { findUserById } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { closeDb, getDb, queryRows, sql, type Database } from "@/lib/db/client";
import { ADMIN_PAGE_SIZE, listAdminUsers } from "@/lib/usage/admin-users";
import { getAppUsageSummary } from "@/lib/usage/queries";

const ROOT = path.resolve(__dirname, "..");
const REPORT = path.join(ROOT, "docs", "benchmarks.md");
const SECTION_START = "<!-- bench:dashboard:start -->";
const SECTION_END = "<!-- bench:dashboard:end -->";
const WARM_UP = 20;

type Result = { name: string; requests: number; p50: number; p95: number; p99: number; max: number };

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

function summarise(name: string, latencies: number[]): Result {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    requests: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1)!,
  };
}

/** Signs a user in the way the login route does, and returns the Cookie header of the session. */
async function cookieFor(db: Database, userId: string): Promise<string> {
  const user = await findUserById(db, { id: userId });
  if (!user) throw new Error(`No user ${userId}.`);
  const tokens = await createSession(db, { user, userAgent: "bench-dashboard" });
  return `accessToken=${tokens.accessToken}`;
}

async function timeRequest(handler: (request: Request, context: never) => Promise<Response>, url: string, cookie: string) {
  const startedAt = performance.now();
  const response = await handler(new Request(url, { headers: { cookie } }), {} as never);
  const body = await response.text();
  const elapsed = performance.now() - startedAt;
  if (response.status !== 200) throw new Error(`${url} returned ${response.status}: ${body.slice(0, 200)}`);
  return elapsed;
}

async function measureUsage(db: Database, { requests }: { requests: number }): Promise<Result[]> {
  // Random seed users, and separately the busiest ones, whose 30 days hold the most rows.
  const random = await queryRows<{ id: string }>(
    db,
    sql`select id from users where email like '%@seed.tollgate.test' order by random() limit ${requests + WARM_UP}`,
  );
  const busiest = await queryRows<{ id: string; rows: number | string }>(
    db,
    sql`select user_id as id, sum(requests) as rows from usage_daily
        where day >= current_date - 29 group by user_id order by 2 desc limit 20`,
  );
  if (random.length < requests + WARM_UP) throw new Error("The database has too few seed users. Run npm run db:seed first.");

  const cookies = new Map<string, string>();
  for (const user of [...random, ...busiest]) cookies.set(user.id, await cookieFor(db, user.id));

  const url = "http://localhost:3000/api/usage?days=30";
  for (const user of random.slice(0, WARM_UP)) await timeRequest(usage, url, cookies.get(user.id)!);

  const randomLatencies: number[] = [];
  for (const user of random.slice(WARM_UP)) randomLatencies.push(await timeRequest(usage, url, cookies.get(user.id)!));
  const busiestLatencies: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const user of busiest) busiestLatencies.push(await timeRequest(usage, url, cookies.get(user.id)!));
  }

  const busiestRows = Number(busiest[0]?.rows ?? 0).toLocaleString("en-US");
  return [
    summarise(`GET /api/usage, ${requests} random seed users`, randomLatencies),
    summarise(`GET /api/usage, the 20 busiest users (up to ${busiestRows} rows in 30 days), 5 times each`, busiestLatencies),
  ];
}

async function measureAdmin(db: Database, { requests }: { requests: number }): Promise<Result[]> {
  const [admin] = await queryRows<{ id: string }>(db, sql`select id from users where email like '%@seed.tollgate.test' order by email limit 1`);
  await db.execute(sql`update users set role = 'admin' where id = ${admin!.id}`);
  const cookie = await cookieFor(db, admin!.id);

  const cases = [
    { name: "GET /api/admin/usage, first page by spend today", url: "http://localhost:3000/api/admin/usage" },
    { name: "GET /api/admin/usage, by spend this month, page 20", url: "http://localhost:3000/api/admin/usage?sort=cost-month&page=20" },
    { name: "GET /api/admin/usage, search by email", url: "http://localhost:3000/api/admin/usage?q=seed-0042" },
  ];
  const results: Result[] = [];
  for (const { name, url } of cases) {
    for (let index = 0; index < 5; index++) await timeRequest(adminUsage, url, cookie);
    const latencies: number[] = [];
    for (let index = 0; index < requests; index++) latencies.push(await timeRequest(adminUsage, url, cookie));
    results.push(summarise(`${name}, ${requests} times`, latencies));
  }

  // Early in a month the month's rollup rows are few. As of the last second of the month before,
  // the seed covers that whole month, which is the largest the month's queries get.
  const now = new Date();
  const monthEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - 1000);
  const { plans } = getConfig();
  const latencies: number[] = [];
  for (let index = 0; index < 5 + requests; index++) {
    const startedAt = performance.now();
    await Promise.all([
      listAdminUsers(db, { now: monthEnd, plans, search: "", sort: "cost-today", direction: "desc", filter: "all", page: 1, pageSize: ADMIN_PAGE_SIZE }),
      getAppUsageSummary(db, { now: monthEnd }),
    ]);
    if (index >= 5) latencies.push(performance.now() - startedAt);
  }
  const asOf = monthEnd.toISOString().slice(0, 16);
  results.push(summarise(`listAdminUsers and getAppUsageSummary called directly as of ${asOf}Z (a whole month), ${requests} times`, latencies));
  return results;
}

async function describeDatabase(db: Database) {
  const [row] = await queryRows<{ version: string; users: string; rows: string; daily: string; monthly: string; oldest: Date | string; newest: Date | string }>(
    db,
    sql`select current_setting('server_version') as version,
               (select count(*) from users) as users, (select count(*) from llm_usage) as rows,
               (select count(*) from usage_daily) as daily, (select count(*) from usage_monthly) as monthly,
               (select min(created_at) from llm_usage) as oldest, (select max(created_at) from llm_usage) as newest`,
  );
  const count = (value: string) => Number(value).toLocaleString("en-US");
  const day = (value: Date | string) => new Date(value).toISOString().slice(0, 10);
  const { database } = getConfig();
  const host = database.kind === "postgres" ? new URL(database.url).host : "PGlite";
  return (
    `PostgreSQL ${row!.version} on ${host}: ` +
    `${count(row!.users)} users, ${count(row!.rows)} usage rows from ${day(row!.oldest)} to ${day(row!.newest)}, ` +
    `${count(row!.daily)} usage_daily rows, ${count(row!.monthly)} usage_monthly rows`
  );
}

function renderSection(input: { results: Result[]; database: string; command: string; startedAt: Date; loadAverage: number }): string {
  const cpus = os.cpus();
  const rows = input.results.map(
    (result) =>
      `| ${result.name} | ${result.p50.toFixed(1)} | ${result.p95.toFixed(1)} | ${result.p99.toFixed(1)} | ${result.max.toFixed(1)} |`,
  );
  return [
    SECTION_START,
    "## Dashboards: usage and admin APIs",
    "",
    "Each request calls the route handler in the benchmark's process, as Next.js would: it verifies the access",
    "token, loads the user, runs the queries and serialises the JSON. Requests run one after another after a",
    "warm-up. Targets: `GET /api/usage` under 100 ms at p95, the admin summary under 300 ms.",
    "",
    "| request | p50 ms | p95 ms | p99 ms | max ms |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `- Run: ${input.startedAt.toISOString()}, \`${input.command}\``,
    `- Machine: ${os.availableParallelism()} CPUs (\`nproc\`), ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`,
    `- Load average over the minute before the run: ${input.loadAverage.toFixed(1)} (other processes shared the CPUs)`,
    `- Database: ${input.database}, filled by \`npm run db:seed -- --rows 1000000\`, 10 connections`,
    "- The totals come from the rollups `usage_daily` (per user and UTC day) and `usage_monthly` (per user,",
    "  month, feature and model). Single requests and the per-feature and per-model split of a user's 30 days",
    "  come from `llm_usage` through its (user_id, created_at) index.",
    "- The admin request aggregates, flags, sorts and pages every user in SQL and returns one page, so its",
    "  time grows with the number of users. Early in a month the month's rollup rows are few, so the last row",
    "  times the admin queries at the end of the previous month, which the seed covers whole.",
    "- The seed ends with VACUUM ANALYZE, so the rollups' covering indexes answer without reading the tables",
    "  (index-only scans), as they do in a running app once autovacuum has passed.",
    SECTION_END,
  ].join("\n");
}


async function main() {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "200" } } });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 10) throw new Error(`Invalid --requests ${values.requests}: expected a whole number of 10 or more.`);
  if (getConfig().database.kind !== "postgres") throw new Error("DATABASE_URL is not set. Set it to a database filled by npm run db:seed.");

  const startedAt = new Date();
  const [loadAverage] = os.loadavg();
  const db = await getDb();
  const database = await describeDatabase(db);
  const results = [...(await measureUsage(db, { requests })), ...(await measureAdmin(db, { requests: Math.min(requests, 50) }))];
  for (const result of results) {
    console.log(`${result.name}: p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
  }

  const command = `DATABASE_URL=<url> npm run bench:dashboard${requests === 200 ? "" : ` -- --requests ${requests}`}`;
  writeReportSection({ start: SECTION_START, end: SECTION_END, section: renderSection({ results, database, command, startedAt, loadAverage: loadAverage! }) });
  console.log(`Wrote the dashboard section of ${path.relative(process.cwd(), REPORT)}.`);
}

main()
  .then(() => closeDb())
  .catch(async (error: unknown) => {
    console.error("bench-dashboard failed:", error);
    await closeDb().catch(() => {});
    process.exit(1);
  });
