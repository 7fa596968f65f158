import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { POST as generate } from "@/app/api/generate/route";
import { GET as me } from "@/app/api/me/route";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { llmUsage } from "@/lib/db/schema";
import { getCounterStore } from "@/lib/limits/gate";
import { utcDay } from "@/lib/limits/store";
import { costMicros } from "@/lib/llm/models";
import { reconcileDay } from "@/lib/usage/reconcile";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

let server: OpenAIServer;

beforeAll(async () => {
  server = await startOpenAIServer();
  process.env.OPENAI_TIMEOUT_MS = "1000";
  configureTestEnvironment({
    openaiBaseUrl: server.url,
    planLimits: { free: { requestsPerMinute: 1_000, requestsPerDay: 1_000, tokensPerDay: 1_000_000 } },
  });
});

afterAll(async () => {
  delete process.env.OPENAI_TIMEOUT_MS;
  await server.close();
});

beforeEach(() => server.reset());

async function signUp() {
  const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string };
}

async function usageRows(userId: string) {
  const db = await getDb();
  return db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
}

async function tokensToday(cookie: string): Promise<number> {
  return (await (await callRoute(me, { method: "GET", cookie })).json()).usage.tokensToday;
}

/** Starts a chat, reads `chunks` events from its stream, then disconnects like a closed tab. */
async function chatAndStop(cookie: string, chunks: number) {
  const client = new AbortController();
  const response = await callRoute(chat, { body: { message: "please write a long answer" }, cookie, signal: client.signal });
  const reader = response.body!.getReader();
  for (let read = 0; read < chunks; read++) await reader.read();
  await reader.cancel();
  client.abort();
  return response;
}

describe("failures", () => {
  it.each([
    ["a 400 from the model", { failWith: { status: 400, message: "bad request" } }],
    ["a 429 from the model", { failWith: { status: 429, message: "slow down", headers: { "x-should-retry": "false" } } }],
    ["a 503 from the model", { failWith: { status: 503, message: "unavailable", headers: { "x-should-retry": "false" } } }],
    ["a model that never answers", { responseDelayMs: 3_000 }],
  ])("%s before any text is a JSON 502 and costs nothing", async (_case, behaviour) => {
    const { cookie, userId } = await signUp();
    server.setBehaviour(behaviour);
    const response = await callRoute(chat, { body: { message: "hello" }, cookie });

    expect(response.status).toBe(502);
    expect((await response.json()).code).toBe("UPSTREAM_ERROR");
    const rows = await usageRows(userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "error", totalTokens: 0, costMicros: 0 });
    expect(await tokensToday(cookie)).toBe(0);
  });

  it.each([
    ["a stream cut after three chunks", { cutAfterChunks: 3, chunkDelayMs: 30 }],
    ["a stream with a malformed chunk", { malformedAfterChunks: 3, chunkDelayMs: 30 }],
    ["a stream that goes silent", { stallAfterChunks: 3 }],
  ])("%s ends with an error event and charges what was streamed", async (_case, behaviour) => {
    const { cookie, userId } = await signUp();
    server.setBehaviour(behaviour);
    const response = await callRoute(chat, { body: { message: "hello there" }, cookie });

    expect(response.status).toBe(200);
    const events = await readSse(response);
    expect(events.filter((event) => event.type === "delta").length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: "error", code: "UPSTREAM_ERROR" });
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "error", usageSource: "estimated" });
    expect(row!.tokensIn).toBeGreaterThan(0);
    expect(row!.tokensOut).toBeGreaterThan(0);
    expect(row!.costMicros).toBeGreaterThan(0);
    expect(await tokensToday(cookie)).toBe(row!.totalTokens);
  });
});

describe("stops", () => {
  it("a stop after three chunks records an aborted row and cancels the model", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ chunkDelayMs: 100 });
    const stoppedAt = performance.now();
    await chatAndStop(cookie, 3);

    await server.waitForIdle(2_000);
    expect(performance.now() - stoppedAt).toBeLessThan(1_500);
    expect(server.requests.at(-1)).toMatchObject({ aborted: true });
    await expect.poll(async () => (await usageRows(userId)).length).toBe(1);
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "aborted", usageSource: "estimated" });
    expect(row!.tokensOut).toBeGreaterThan(0);
    expect(row!.latencyMs).toBeGreaterThan(0);
    expect(await tokensToday(cookie)).toBe(row!.totalTokens);
  });

  it("a stop before the first token still charges the prompt", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ firstChunkDelayMs: 800 });
    const client = new AbortController();
    const pending = callRoute(chat, { body: { message: "hello" }, cookie, signal: client.signal });
    setTimeout(() => client.abort(), 200);
    await pending.catch(() => undefined);

    await expect.poll(async () => (await usageRows(userId)).length, { timeout: 5_000 }).toBe(1);
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "aborted", tokensOut: 0 });
    expect(row!.tokensIn).toBeGreaterThan(0);
    await server.waitForIdle(2_000);
    expect(server.requests.at(-1)).toMatchObject({ aborted: true });
    expect(await tokensToday(cookie)).toBe(row!.totalTokens);
  });

  it("50 stops in a row each leave a row and charge the counter", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ chunkDelayMs: 20 });
    for (let stop = 0; stop < 50; stop++) await chatAndStop(cookie, 2);

    await expect.poll(async () => (await usageRows(userId)).length, { timeout: 10_000 }).toBe(50);
    const rows = await usageRows(userId);
    expect(rows.every((row) => row.status === "aborted")).toBe(true);
    const charged = rows.reduce((sum, row) => sum + row.totalTokens, 0);
    expect(charged).toBeGreaterThan(0);
    expect(await tokensToday(cookie)).toBe(charged);
  });
});

describe("prices", () => {
  it("streamed chat and non-streamed generate cost the same for the same usage", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reportedPromptTokens: 1_000, reportedCompletionTokens: 500 });
    await readSse(await callRoute(chat, { body: { message: "hello" }, cookie }));
    const generated = await callRoute(generate, { body: { prompt: "hello", task: "improve" }, cookie });
    expect(generated.status).toBe(200);

    const rows = await usageRows(userId);
    const chatRow = rows.find((row) => row.feature === "chat")!;
    const generateRow = rows.find((row) => row.feature === "generate")!;
    expect(generateRow.costMicros).toBe(chatRow.costMicros);
    // gpt-4o-mini: 1,000 prompt tokens at $0.15 and 500 completion tokens at $0.60 per million.
    expect(chatRow.costMicros).toBe(450);
    expect(server.requests.map((request) => request.stream)).toEqual([true, false]);
  });

  it("bills cached prompt tokens at the cached price", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reportedPromptTokens: 1_000, reportedCompletionTokens: 0, reportedCachedTokens: 600 });
    await readSse(await callRoute(chat, { body: { message: "hello" }, cookie }));

    const [row] = await usageRows(userId);
    expect(row!.tokensCached).toBe(600);
    // 400 tokens at $0.15 and 600 at $0.075 per million.
    expect(row!.costMicros).toBe(105);
  });

  it("prices every priced model above zero on both paths", () => {
    const { prices } = getConfig();
    for (const model of Object.keys(prices)) {
      expect(costMicros(model, { promptTokens: 10, completionTokens: 10 }, prices), model).toBeGreaterThan(0);
    }
  });
});

describe("generate", () => {
  it("returns the text and usage and records a generate row", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: "A clearer sentence." });
    const response = await callRoute(generate, { body: { prompt: "a sentense to improve", task: "improve" }, cookie });

    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.text).toBe("A clearer sentence.");
    expect(body.usage.totalTokens).toBeGreaterThan(0);
    const requestId = response.headers.get("x-request-id");
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ feature: "generate", status: "ok", usageSource: "reported", requestId });
    const sent = server.requests[0]!.body as { messages: Array<{ role: string }> };
    expect(sent.messages.map((message) => message.role)).toEqual(["system", "user"]);
  });

  it.each([
    ["an empty text", { prompt: "" }, 400, "INVALID_INPUT"],
    ["an unknown task", { prompt: "text", task: "translate" }, 400, "INVALID_INPUT"],
    ["a text over the size cap", { prompt: "x".repeat(100_001) }, 413, "PROMPT_TOO_LONG"],
  ])("rejects %s and charges nothing", async (_case, body, status, code) => {
    const { cookie, userId } = await signUp();
    const response = await callRoute(generate, { body, cookie });
    expect(response.status).toBe(status);
    expect((await response.json()).code).toBe(code);
    expect(await usageRows(userId)).toHaveLength(0);
    expect(server.requests).toHaveLength(0);
  });
});

describe("reconciliation", () => {
  it("finds no difference after mixed success, failure and stop traffic", async () => {
    const { cookie, userId } = await signUp();
    await readSse(await callRoute(chat, { body: { message: "one" }, cookie }));
    server.setBehaviour({ failWith: { status: 500, headers: { "x-should-retry": "false" } } });
    await callRoute(chat, { body: { message: "two" }, cookie });
    server.setBehaviour({ failWith: null, cutAfterChunks: 2 });
    await readSse(await callRoute(chat, { body: { message: "three" }, cookie }));
    server.setBehaviour({ cutAfterChunks: null, chunkDelayMs: 30 });
    await chatAndStop(cookie, 2);
    await server.waitForIdle(2_000);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const db = await getDb();
    // Scoped to this test's user: on PostgreSQL, other test files share the database.
    expect(await reconcileDay(db, getCounterStore(), { day: utcDay(new Date()), userIds: [userId] })).toEqual([]);
  });

  it("reports a user whose rows and counters differ", async () => {
    const { cookie, userId } = await signUp();
    await readSse(await callRoute(chat, { body: { message: "one" }, cookie }));
    const db = await getDb();
    const [row] = await usageRows(userId);
    await db.insert(llmUsage).values({ ...row!, id: undefined, requestId: "req_extra" });

    const differences = await reconcileDay(db, getCounterStore(), { day: utcDay(new Date()), userIds: [userId] });
    expect(differences).toEqual([
      expect.objectContaining({ userId, usageRows: { requests: 2, tokens: row!.totalTokens * 2 }, counters: { requests: 1, tokens: row!.totalTokens } }),
    ]);
  });
});
