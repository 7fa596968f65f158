import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDb } from "@/lib/db/client";
import { llmUsage } from "@/lib/db/schema";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import type { CounterStore } from "@/lib/limits/store";
import { createUpstashStore } from "@/lib/limits/upstash-store";
import { estimatePromptTokens } from "@/lib/llm/tokens";
import { insertUsageRow } from "@/lib/usage/rows";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { configureTestEnvironment, readSse, uniqueEmail } from "@/tests/helpers";
import { randomKeyPrefix } from "@/tests/limits-helpers";
import { startUpstashBridge, type UpstashBridge } from "@/tests/upstash-bridge";

// Two `next start` processes share one PostgreSQL database, and in a second run also one Redis
// behind the Upstash REST bridge. Fifty chat requests at once, split between them, must admit
// exactly as many as each limit allows. This project runs only when TEST_DATABASE_URL is set.

const ROOT = path.resolve(__dirname, "../..");
if (!existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
  throw new Error("The two-instance tests start `next start` and need a production build: run `npx next build` first (`npm test` does).");
}

const databaseUrl = process.env.DATABASE_URL!;
const redisUrl = process.env.TEST_REDIS_URL;
const PORT_RANGE = { first: 3300, last: 3399 };
const MODEL = "gpt-4o-mini";
const MESSAGE = "hello";
const PROMPT_TOKENS = estimatePromptTokens([{ role: "user", content: MESSAGE }], MODEL);
const MAX_OUTPUT_TOKENS = 1_000;
// The model replies with 800 tokens, so every call settles 200 tokens below its reservation.
const REPLY = "word ".repeat(800).trim();
// Seven full reservations and one more with its output cap clamped to 300 − prompt.
const TOKEN_BUDGET = 7 * (PROMPT_TOKENS + MAX_OUTPUT_TOKENS) + 300;
const PLAN_LIMITS = {
  // The concurrent-admission case: 5 a minute, 20 a day, 10,000 tokens a day.
  free: { requestsPerMinute: 5, requestsPerDay: 20, tokensPerDay: 10_000, maxOutputTokens: MAX_OUTPUT_TOKENS },
  pro: { requestsPerMinute: 100, requestsPerDay: 20, tokensPerDay: 1_000_000, maxOutputTokens: MAX_OUTPUT_TOKENS },
  enterprise: { requestsPerMinute: 100, requestsPerDay: 100, tokensPerDay: TOKEN_BUDGET, maxOutputTokens: MAX_OUTPUT_TOKENS },
};

type Instance = { port: number; baseUrl: string; process: ChildProcess; output: string[] };

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function freePorts(count: number): Promise<number[]> {
  const size = PORT_RANGE.last - PORT_RANGE.first + 1;
  const offset = Math.floor(Math.random() * size);
  const ports: number[] = [];
  for (let step = 0; step < size && ports.length < count; step++) {
    const port = PORT_RANGE.first + ((offset + step) % size);
    if (await isPortFree(port)) ports.push(port);
  }
  if (ports.length < count) throw new Error(`Fewer than ${count} free ports in ${PORT_RANGE.first}-${PORT_RANGE.last}.`);
  return ports;
}

async function startInstance(port: number, environment: Record<string, string>): Promise<Instance> {
  const child = spawn(path.join(ROOT, "node_modules/.bin/next"), ["start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: ROOT,
    // The caller sets NODE_ENV, which Next's typings require.
    env: environment as NodeJS.ProcessEnv,
    // Its own process group, so that stopping it also stops the server process it starts.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const instance: Instance = { port, baseUrl: `http://127.0.0.1:${port}`, process: child, output: [] };
  const keep = (chunk: Buffer) => instance.output.push(chunk.toString());
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);

  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    // Middleware returns 401 without a session once the server is up.
    const ready = await fetch(`${instance.baseUrl}/api/me`).then(
      (response) => response.status === 401,
      () => false,
    );
    if (ready) return instance;
    await sleep(250);
  }
  await stopInstance(instance);
  throw new Error(`next start on port ${port} did not become ready:\n${instance.output.join("").slice(-3_000)}`);
}

async function stopInstance(instance: Instance): Promise<void> {
  const { process: child } = instance;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    return;
  }
  const stopped = await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)]);
  if (!stopped) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // It ended in the meantime.
    }
    await exited;
  }
}

function cookiesFrom(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .join("; ");
}

type Outcome = { status: number; code?: string; retryAfter: number | null; done?: boolean; upstreamError?: boolean };

describe.each([
  { store: "postgres" as const },
  ...(redisUrl ? [{ store: "upstash" as const }] : []),
])("two app instances sharing the $store store", ({ store: storeKind }) => {
  let model: OpenAIServer;
  let bridge: UpstashBridge | undefined;
  let instances: Instance[] = [];
  let counterStore: CounterStore;
  let adminCookie: string;
  const adminEmail = uniqueEmail("admin");

  beforeAll(async () => {
    // The test process reads the same database for usage rows, with secrets of its own.
    configureTestEnvironment();
    model = await startOpenAIServer();
    model.setBehaviour({ responseDelayMs: 1_000, reply: REPLY });

    const environment: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      LOG_LEVEL: "warn",
      DATABASE_URL: databaseUrl,
      JWT_ACCESS_SECRET: randomBytes(48).toString("base64url"),
      JWT_REFRESH_SECRET: randomBytes(48).toString("base64url"),
      OPENAI_API_KEY: "sk-test-local",
      OPENAI_BASE_URL: model.url,
      OPENAI_MODEL: MODEL,
      PLAN_LIMITS: JSON.stringify(PLAN_LIMITS),
      ADMIN_EMAILS: adminEmail,
    };
    if (storeKind === "upstash") {
      const token = randomBytes(24).toString("base64url");
      const keyPrefix = randomKeyPrefix();
      bridge = await startUpstashBridge({ redisUrl: redisUrl!, token });
      Object.assign(environment, { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token, UPSTASH_KEY_PREFIX: keyPrefix });
      counterStore = createUpstashStore({ url: bridge.url, token, keyPrefix });
    } else {
      counterStore = createPostgresStore(getDb);
    }

    const ports = await freePorts(2);
    instances = await Promise.all(ports.map((port) => startInstance(port, { ...environment, APP_URL: `http://localhost:${port}` })));
    adminCookie = (await signUp(adminEmail)).cookie;
  });

  afterAll(async () => {
    await Promise.all(instances.map(stopInstance));
    await bridge?.close();
    await model?.close();
  });

  async function signUp(email = uniqueEmail()): Promise<{ cookie: string; userId: string }> {
    const response = await fetch(`${instances[0]!.baseUrl}/api/auth/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "correct horse battery" }),
    });
    expect(response.status).toBe(201);
    return { cookie: cookiesFrom(response), userId: (await response.json()).user.id };
  }

  async function signUpOnPlan(plan: "free" | "pro" | "enterprise") {
    const user = await signUp();
    if (plan !== "free") {
      const response = await fetch(`${instances[1]!.baseUrl}/api/admin/users/${user.userId}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", cookie: adminCookie },
        body: JSON.stringify({ plan }),
      });
      expect(response.status).toBe(200);
    }
    return user;
  }

  async function countersOf(cookie: string): Promise<{ requestsToday: number; tokensToday: number }> {
    return (await (await fetch(`${instances[1]!.baseUrl}/api/me`, { headers: { cookie } })).json()).usage;
  }

  async function usageRows(userId: string) {
    const db = await getDb();
    return db.select().from(llmUsage).where(and(eq(llmUsage.userId, userId)));
  }

  /**
   * Sends 50 chat requests at once, alternating between the instances, and reads every stream to
   * its end. Once every response has started, it samples the user's token counter, which still
   * includes the reservations of calls that have not settled yet.
   */
  async function fireFifty(cookie: string): Promise<{ outcomes: Outcome[]; tokensWhileRunning: number }> {
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        fetch(`${instances[index % 2]!.baseUrl}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json", cookie },
          body: JSON.stringify({ message: MESSAGE }),
        }),
      ),
    );
    const { tokensToday: tokensWhileRunning } = await countersOf(cookie);
    const outcomes = await Promise.all(
      responses.map(async (response): Promise<Outcome> => {
        const retryAfter = response.headers.get("retry-after");
        const outcome: Outcome = { status: response.status, retryAfter: retryAfter === null ? null : Number(retryAfter) };
        if (response.status === 200) {
          const last = (await readSse(response)).at(-1);
          return { ...outcome, done: last?.type === "done", upstreamError: last?.type === "error" };
        }
        return { ...outcome, code: (await response.json()).code };
      }),
    );
    return { outcomes, tokensWhileRunning };
  }

  /** Checks that the user's counters equal their usage rows, plus what was there before the test. */
  async function expectCountersMatchRows(user: { cookie: string; userId: string }, before = { requests: 0, tokens: 0 }) {
    await model.waitForIdle(10_000);
    const rows = await usageRows(user.userId);
    const counters = await countersOf(user.cookie);
    expect(counters.requestsToday).toBe(rows.length + before.requests);
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0) + before.tokens);
    return { rows, counters };
  }

  it("500 tokens left admit one clamped call", async () => {
    const user = await signUpOnPlan("free");
    // The user has already used 9,500 tokens today: one settled request and its usage row.
    const seeded = await counterStore.reserve({
      userId: user.userId,
      limits: { ...PLAN_LIMITS.free, maxPromptTokens: 9_000 },
      promptTokens: 9_000,
      maxOutputTokens: 500,
      minOutputTokens: 16,
      now: new Date(),
    });
    if (!seeded.admitted) throw new Error("seeding the user's earlier usage was rejected");
    await counterStore.settle({ reservation: seeded.reservation, usedTokens: 9_500, usedCostMicros: 0 });
    await insertUsageRow(await getDb(), {
      userId: user.userId,
      requestId: "req_seeded",
      feature: "chat",
      model: MODEL,
      tokensIn: 9_000,
      tokensOut: 500,
      costMicros: 0,
      latencyMs: 0,
      status: "ok",
      usageSource: "reported",
    });
    model.reset();
    model.setBehaviour({ responseDelayMs: 1_000, reply: REPLY });

    const { outcomes, tokensWhileRunning } = await fireFifty(user.cookie);
    const admitted = outcomes.filter((outcome) => outcome.status === 200);
    expect(admitted).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 429 && outcome.code === "DAILY_TOKEN_LIMIT")).toHaveLength(49);
    expect(outcomes.every((outcome) => outcome.status === 200 || (outcome.retryAfter ?? 0) > 0)).toBe(true);
    expect(tokensWhileRunning).toBeLessThanOrEqual(10_000);

    const sent = model.requests[0]!.body as { max_tokens: number };
    expect(sent.max_tokens).toBe(500 - PROMPT_TOKENS);
    const { counters } = await expectCountersMatchRows(user);
    expect(counters.tokensToday).toBeLessThanOrEqual(10_000);
  });

  it("admits exactly 5 per minute, refunds failure", async () => {
    const user = await signUpOnPlan("free");
    model.reset();
    // One call fails with a 500 whose x-should-retry header stops the SDK from retrying it.
    model.setBehaviour({
      responseDelayMs: 1_000,
      reply: REPLY,
      failNextRequests: 1,
      failWith: { status: 500, message: "model overloaded", headers: { "x-should-retry": "false" } },
    });

    const { outcomes } = await fireFifty(user.cookie);
    // The failed call was admitted too: the model failed before any text, so it answers 502.
    const failed = outcomes.filter((outcome) => outcome.status === 502);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.code).toBe("UPSTREAM_ERROR");
    const answered = outcomes.filter((outcome) => outcome.status === 200);
    expect(answered).toHaveLength(4);
    expect(answered.filter((outcome) => outcome.done)).toHaveLength(4);
    const rejected = outcomes.filter((outcome) => outcome.status === 429);
    expect(rejected).toHaveLength(45);
    for (const outcome of rejected) {
      expect(outcome.code).toBe("RATE_LIMITED");
      expect(outcome.retryAfter).toBeGreaterThanOrEqual(1);
      expect(outcome.retryAfter).toBeLessThanOrEqual(60);
    }

    const { rows } = await expectCountersMatchRows(user);
    expect(rows).toHaveLength(5);
    expect(rows.filter((row) => row.status === "error").map((row) => row.totalTokens)).toEqual([0]);
    expect(rows.filter((row) => row.status === "ok").every((row) => row.totalTokens === PROMPT_TOKENS + 800)).toBe(true);
  });

  it("admits exactly 20 of 50 against 20 a day", async () => {
    const user = await signUpOnPlan("pro");
    model.reset();
    model.setBehaviour({ responseDelayMs: 1_000, reply: REPLY });

    const { outcomes } = await fireFifty(user.cookie);
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(20);
    const rejected = outcomes.filter((outcome) => outcome.status === 429);
    expect(rejected).toHaveLength(30);
    expect(new Set(rejected.map((outcome) => outcome.code))).toEqual(new Set(["DAILY_REQUEST_LIMIT"]));
    expect(model.requests).toHaveLength(20);
    await expectCountersMatchRows(user);
  });

  it("token budget admits exactly eight calls", async () => {
    const user = await signUpOnPlan("enterprise");
    model.reset();
    model.setBehaviour({ responseDelayMs: 1_000, reply: REPLY });

    const { outcomes, tokensWhileRunning } = await fireFifty(user.cookie);
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(8);
    const rejected = outcomes.filter((outcome) => outcome.status === 429);
    expect(rejected).toHaveLength(42);
    expect(new Set(rejected.map((outcome) => outcome.code))).toEqual(new Set(["DAILY_TOKEN_LIMIT"]));
    expect(tokensWhileRunning).toBeLessThanOrEqual(TOKEN_BUDGET);

    // Each call reserved its prompt and the output cap it sent: together exactly the budget.
    const caps = model.requests.map((request) => (request.body as { max_tokens: number }).max_tokens).sort((a, b) => a - b);
    expect(caps).toEqual([300 - PROMPT_TOKENS, ...Array.from({ length: 7 }, () => MAX_OUTPUT_TOKENS)]);
    expect(caps.reduce((sum, cap) => sum + PROMPT_TOKENS + cap, 0)).toBe(TOKEN_BUDGET);
    const { counters } = await expectCountersMatchRows(user);
    expect(counters.tokensToday).toBeLessThanOrEqual(TOKEN_BUDGET);
  });
});
