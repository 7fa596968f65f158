/**
 * Times each step of the control layer on its own, one call at a time, against PostgreSQL and
 * against Redis behind the Upstash REST bridge. It prints the CPU time this process spends per
 * call, the CPU time of the database servers' processes per call (from /proc, so only for servers
 * on this machine), and the wall-clock time per call. The end-to-end benchmark (scripts/bench-overhead.ts)
 * cannot tell which step of a gated request costs what; this script can.
 *
 *   npx tsx scripts/bench/step-costs.ts [--calls 400]
 *
 * TEST_DATABASE_URL names the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres),
 * on which it creates a database of its own and drops it at the end; TEST_REDIS_URL names the
 * Redis server (default redis://127.0.0.1:6379). The Upstash line includes the bridge's CPU time,
 * because the bridge runs in this process.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import type { Admission } from "@/lib/limits/gate";
import type { CounterStore } from "@/lib/limits/store";
import { createDatabase, loopbackUrl } from "@/scripts/bench/database";
import { databaseCpuMilliseconds } from "@/scripts/bench/processes";

type Step = { name: string; run: (index: number) => Promise<unknown> };

async function timeStep(step: Step, calls: number): Promise<void> {
  for (let index = 0; index < 20; index++) await step.run(index);
  const cpuAtStart = process.cpuUsage();
  const databaseCpuAtStart = databaseCpuMilliseconds();
  const startedAt = performance.now();
  for (let index = 0; index < calls; index++) await step.run(index);
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMs = (cpu.user + cpu.system) / 1000 / calls;
  const wallMs = (performance.now() - startedAt) / calls;
  const databaseCpuAtEnd = databaseCpuMilliseconds();
  const databaseCpuMs = databaseCpuAtStart === null || databaseCpuAtEnd === null ? "–" : ((databaseCpuAtEnd - databaseCpuAtStart) / calls).toFixed(2);
  console.log(`| ${step.name} | ${cpuMs.toFixed(2)} | ${databaseCpuMs} | ${wallMs.toFixed(2)} |`);
}

async function main() {
  const { values } = parseArgs({ options: { calls: { type: "string", default: "400" } } });
  const calls = Number(values.calls);
  if (!Number.isInteger(calls) || calls < 1) throw new Error(`Invalid --calls ${values.calls}: expected a positive whole number.`);
  const adminUrl = loopbackUrl(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "TEST_DATABASE_URL");
  const redisUrl = loopbackUrl(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", "TEST_REDIS_URL");
  const database = await createDatabase(adminUrl, "tollgate_steps");

  // The configuration is read on first use, so it is set before the app's modules run.
  process.env.DATABASE_URL = database.url.toString();
  process.env.JWT_ACCESS_SECRET = randomBytes(48).toString("base64url");
  process.env.JWT_REFRESH_SECRET = randomBytes(48).toString("base64url");
  process.env.LOG_LEVEL = "silent";
  process.env.PLAN_LIMITS = JSON.stringify({ free: { tokensPerDay: 1_000_000_000_000, requestsPerDay: 1_000_000_000, requestsPerMinute: 1_000_000_000 } });

  const { closeDb, getDb, sql } = await import("@/lib/db/client");
  const { authenticateSession } = await import("@/lib/auth/session");
  const { verifyAccessToken } = await import("@/lib/auth/tokens");
  const { insertChatWithMessage } = await import("@/lib/chat/conversations");
  const { getConfig } = await import("@/lib/config");
  const { admitRequest, settleRequest } = await import("@/lib/limits/gate");
  const { createPostgresStore } = await import("@/lib/limits/postgres-store");
  const { createUpstashStore } = await import("@/lib/limits/upstash-store");
  const { buildPrompt } = await import("@/lib/llm/prompt");
  const { insertUsageRow } = await import("@/lib/usage/rows");
  const { startUpstashBridge } = await import("@/tests/upstash-bridge");
  const { insertBenchUsers, signCookies } = await import("@/scripts/bench/users");

  const db = await getDb();
  const token = randomBytes(24).toString("base64url");
  const bridge = await startUpstashBridge({ redisUrl: redisUrl.toString(), token });
  try {
    const users = await insertBenchUsers(db, 200);
    const accessTokens = (await signCookies(users)).map((cookie) => cookie.slice(cookie.indexOf("=") + 1));
    const userId = (index: number) => users[index % users.length]!.id;
    const limits = getConfig().plans.free;
    const stores: Record<"postgres" | "upstash", CounterStore> = {
      postgres: createPostgresStore(getDb),
      upstash: createUpstashStore({ url: bridge.url, token, keyPrefix: `steps-${randomBytes(4).toString("hex")}` }),
    };
    const admissions = new Map<number, Admission>();
    const reserveAndSettle = (store: CounterStore) => async (index: number) => {
      const admission = await admitRequest({ userId: userId(index), limits, promptTokens: 20, model: "gpt-4o-mini", feature: "chat", requestId: "req_steps", store });
      await settleRequest({ reservation: admission.reservation, usedTokens: 80, usedCostMicros: 40, requestId: "req_steps", store });
    };

    const steps: Step[] = [
      { name: "`verifyAccessToken`", run: (index) => verifyAccessToken(accessTokens[index % accessTokens.length]) },
      { name: "`authenticateSession` (verify, user and session family)", run: (index) => authenticateSession(db, accessTokens[index % accessTokens.length]) },
      {
        name: "`buildPrompt` (token count of a one-line message)",
        run: async () => buildPrompt({ history: [], message: "Explain in one paragraph what a token budget is.", model: "gpt-4o-mini", maxPromptTokens: 2_000 }),
      },
      {
        name: "`admitRequest`, PostgreSQL store",
        run: async (index) => {
          admissions.set(index, await admitRequest({ userId: userId(index), limits, promptTokens: 20, model: "gpt-4o-mini", feature: "chat", requestId: "req_steps", store: stores.postgres }));
        },
      },
      {
        name: "`settleRequest`, PostgreSQL store",
        run: (index) => settleRequest({ reservation: admissions.get(index)!.reservation, usedTokens: 80, usedCostMicros: 40, requestId: "req_steps", store: stores.postgres }),
      },
      { name: "`admitRequest` + `settleRequest`, Upstash store and bridge", run: reserveAndSettle(stores.upstash) },
      {
        name: "`insertUsageRow`",
        run: (index) =>
          insertUsageRow(db, { userId: userId(index), requestId: `req_steps_${index}`, feature: "chat", model: "gpt-4o-mini", tokensIn: 20, tokensOut: 60, costMicros: 40, latencyMs: 10, status: "ok", usageSource: "reported" }),
      },
      {
        name: "`insertChatWithMessage` (also in the baseline)",
        run: (index) => insertChatWithMessage(db, { userId: userId(index), title: "steps", role: "user", content: "hello" }),
      },
      { name: "`select 1` (one round trip)", run: () => db.execute(sql`select 1`) },
    ];

    console.log(`Each step ${calls} times, one call at a time.\n`);
    console.log("| step | CPU ms per call | database CPU ms per call | wall ms per call |");
    console.log("| --- | --- | --- | --- |");
    for (const step of steps) await timeStep(step, calls);
  } finally {
    await bridge.close();
    await closeDb();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error("step-costs failed:", error);
  process.exit(1);
});
