import { and, eq, gte } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GET as adminUsage } from "@/app/api/admin/usage/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { GET as me } from "@/app/api/me/route";
import { resetConfigForTests } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { llmUsage } from "@/lib/db/schema";
import { getCounterStore } from "@/lib/limits/gate";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";
import { testedStoreKind } from "@/tests/limits-helpers";

let server: OpenAIServer;
let adminCookie: string;
// A reply longer than any output cap here, so every call uses its whole cap.
const LONG_REPLY = "word ".repeat(800).trim();

beforeAll(async () => {
  server = await startOpenAIServer();
  const adminEmail = uniqueEmail("admin");
  configureTestEnvironment({
    openaiBaseUrl: server.url,
    adminEmails: adminEmail,
    planLimits: { free: { requestsPerMinute: 1_000, requestsPerDay: 1_000, tokensPerDay: 5_000, maxOutputTokens: 512 } },
  });
  adminCookie = (await signUp(adminEmail)).cookie;
});

afterAll(() => server.close());

beforeEach(() => server.reset());

afterEach(() => {
  delete process.env.GLOBAL_DAILY_SPEND_CAP_USD;
  resetConfigForTests();
});

async function signUp(email = uniqueEmail()) {
  const response = await callRoute(signup, { body: { email, password: "correct horse battery" } });
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string };
}

function startOfUtcDay(date = new Date()): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

async function usageRowsToday(userId: string) {
  const db = await getDb();
  return db
    .select()
    .from(llmUsage)
    .where(and(eq(llmUsage.userId, userId), gte(llmUsage.createdAt, startOfUtcDay())));
}

async function countersOf(cookie: string): Promise<{ requestsToday: number; tokensToday: number }> {
  return (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
}

/** Sends a chat message and reads the stream to its end. */
async function chatToTheEnd(cookie: string, message: string) {
  const response = await callRoute(chat, { body: { message }, cookie });
  return { response, events: response.status === 200 ? await readSse(response) : [] };
}

/** Sends a chat message and disconnects after the first two pieces of the stream. */
async function chatAndLeave(cookie: string, message: string) {
  const client = new AbortController();
  const response = await callRoute(chat, { body: { message }, cookie, signal: client.signal });
  const reader = response.body!.getReader();
  await reader.read();
  await reader.read();
  await reader.cancel();
  client.abort();
}

describe(`reconciliation on the ${testedStoreKind()} store`, () => {
  it("counters equal the usage rows after success, failure and abort", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ chunkDelayMs: 5 });

    await chatToTheEnd(cookie, "first success");

    // The SDK retries a 500 once, so failures are switched on for a while rather than counted.
    server.setBehaviour({ failWith: { status: 500, message: "model overloaded" } });
    const failed = await chatToTheEnd(cookie, "this one fails");
    // The model failed before any text, so the route answers with a JSON error instead of a stream.
    expect(failed.response.status).toBe(502);
    expect(await failed.response.json()).toMatchObject({ code: "UPSTREAM_ERROR" });
    await Promise.all(Array.from({ length: 3 }, (_, index) => chatToTheEnd(cookie, `failing in parallel ${index}`)));
    server.setBehaviour({ failWith: null });

    await chatAndLeave(cookie, "the client leaves mid-answer");
    await chatAndLeave(cookie, "and leaves again");
    await Promise.all(Array.from({ length: 4 }, (_, index) => chatToTheEnd(cookie, `succeeding in parallel ${index}`)));

    await expect.poll(async () => (await usageRowsToday(userId)).length, { timeout: 5_000 }).toBe(11);
    await server.waitForIdle();
    const rows = await usageRowsToday(userId);
    const statuses = rows.map((row) => row.status);
    expect(statuses.filter((status) => status === "ok")).toHaveLength(5);
    expect(statuses.filter((status) => status === "error")).toHaveLength(4);
    expect(statuses.filter((status) => status === "aborted")).toHaveLength(2);
    expect(rows.filter((row) => row.status === "error").every((row) => row.totalTokens === 0)).toBe(true);
    expect(rows.filter((row) => row.status === "aborted").every((row) => row.totalTokens > 0)).toBe(true);

    const counters = await countersOf(cookie);
    expect(counters.requestsToday).toBe(rows.length);
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0));
  });

  it("rejected requests leave no usage row and use no quota", async () => {
    const { cookie, userId } = await signUp();
    const response = await callRoute(chat, { body: { message: "word ".repeat(3_000) }, cookie });
    expect(response.status).toBe(413);
    expect(await usageRowsToday(userId)).toHaveLength(0);
    expect(await countersOf(cookie)).toMatchObject({ requestsToday: 0, tokensToday: 0 });
  });

  it("sequential use spends at least 97% of the day's tokens before the first rejection", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: LONG_REPLY });

    let rejection: Response | undefined;
    for (let attempt = 0; attempt < 50 && !rejection; attempt++) {
      const { response, events } = await chatToTheEnd(cookie, `question ${attempt}`);
      if (response.status === 200) expect(events.at(-1)!.type).toBe("done");
      else rejection = response;
    }

    expect(rejection?.status).toBe(429);
    expect((await rejection!.json()).code).toBe("DAILY_TOKEN_LIMIT");
    const spent = (await usageRowsToday(userId)).reduce((sum, row) => sum + row.totalTokens, 0);
    expect(spent).toBeGreaterThanOrEqual(0.97 * 5_000);
    expect(spent).toBeLessThanOrEqual(5_000);
    expect((await countersOf(cookie)).tokensToday).toBe(spent);
  });

  it("spend cap rejects calls, visible to admins", async () => {
    const { cookie } = await signUp();
    const other = await signUp();
    server.setBehaviour({ reply: LONG_REPLY });

    // Room for one call: a short prompt with the 512-token cap costs about 310 micro-dollars on
    // gpt-4o-mini, and a second one would pass the cap. Today's counter may already hold other
    // tests' spending, so the cap is set above it.
    const spentBefore = (await getCounterStore().peekAppSpend({ now: new Date() })).spentMicros;
    process.env.GLOBAL_DAILY_SPEND_CAP_USD = ((spentBefore + 450) / 1_000_000).toFixed(6);
    resetConfigForTests();

    const first = await chatToTheEnd(cookie, "hello");
    expect(first.response.status).toBe(200);
    expect(first.events.at(-1)!.type).toBe("done");

    for (const user of [{ cookie }, other]) {
      const rejected = await callRoute(chat, { body: { message: "hello again" }, cookie: user.cookie });
      expect(rejected.status).toBe(503);
      expect((await rejected.json()).code).toBe("SPEND_CAP_REACHED");
      expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(server.requests).toHaveLength(1);
    expect((await countersOf(other.cookie)).requestsToday).toBe(0);

    const body = await (await callRoute(adminUsage, { method: "GET", cookie: adminCookie })).json();
    expect(body.app).toMatchObject({ spendCapUsd: Number(process.env.GLOBAL_DAILY_SPEND_CAP_USD), capReached: true });
  });

  it("admins see no cap when none is set", async () => {
    const body = await (await callRoute(adminUsage, { method: "GET", cookie: adminCookie })).json();
    expect(body.app).toMatchObject({ spendCapUsd: null, capReached: false });
  });
});
