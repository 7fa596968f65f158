import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { GET as me } from "@/app/api/me/route";
import { GET as usage } from "@/app/api/usage/route";
import { getDb } from "@/lib/db/client";
import { chats, llmUsage, messages, users } from "@/lib/db/schema";
import { startOpenAIServer, type CapturedRequest, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

let server: OpenAIServer;

beforeAll(async () => {
  server = await startOpenAIServer();
  // Roomy per-minute limits, so only the limit a test is about can refuse a request.
  configureTestEnvironment({
    openaiBaseUrl: server.url,
    planLimits: { free: { requestsPerMinute: 100, requestsPerDay: 20, tokensPerDay: 20_000 } },
  });
});

afterAll(() => server.close());

beforeEach(() => server.reset());

async function signUp() {
  const email = uniqueEmail();
  const response = await callRoute(signup, { body: { email, password: "correct horse battery" } });
  const body = await response.json();
  return { cookie: cookieHeader(response), userId: body.user.id as string };
}

type ChatCompletionBody = {
  stream?: boolean;
  stream_options?: unknown;
  max_tokens?: number;
  messages: Array<{ role: string; content: string }>;
};

function sentBody(request: CapturedRequest | undefined): ChatCompletionBody {
  return request!.body as ChatCompletionBody;
}

async function usageRows(userId: string) {
  const db = await getDb();
  return db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
}

async function countersOf(cookie: string) {
  return (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
}

describe("POST /api/chat", () => {
  it("streams the answer and records reported usage", async () => {
    const { cookie, userId } = await signUp();
    const response = await callRoute(chat, { body: { message: "Tell me about tollgates" }, cookie });

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(/^req_/);
    expect(response.headers.get("x-ratelimit-remaining-requests")).toBe("19");

    const events = await readSse(response);
    const deltas = events.filter((event) => event.type === "delta");
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1)!;
    expect(done.type).toBe("done");
    if (done.type !== "done") return;

    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ requestId, feature: "chat", model: "gpt-4o-mini", status: "ok", usageSource: "reported" });
    expect(row!.tokensIn).toBe(done.usage.promptTokens);
    expect(row!.tokensOut).toBe(done.usage.completionTokens);
    expect(row!.totalTokens).toBe(done.usage.totalTokens);
    expect(row!.costMicros).toBeGreaterThan(0);
    expect(done.usage.costUsd).toBe(row!.costMicros / 1_000_000);
    expect(row!.latencyMs).toBeGreaterThanOrEqual(0);

    // The reservation was settled to the reported usage.
    expect((await countersOf(cookie)).tokensToday).toBe(done.usage.totalTokens);
  });

  it("asks the model for usage and caps the output by the plan", async () => {
    const { cookie } = await signUp();
    await readSse(await callRoute(chat, { body: { message: "hello" }, cookie }));

    const sent = sentBody(server.requests[0]);
    expect(sent.stream).toBe(true);
    expect(sent.stream_options).toEqual({ include_usage: true });
    expect(sent.max_tokens).toBe(512);
  });

  it("saves the conversation and sends its history on the next turn", async () => {
    const { cookie, userId } = await signUp();
    const first = await readSse(await callRoute(chat, { body: { message: "first question" }, cookie }));
    const done = first.at(-1)!;
    if (done.type !== "done") throw new Error("expected a done event");

    await readSse(await callRoute(chat, { body: { chatId: done.chatId, message: "second question" }, cookie }));
    const sent = sentBody(server.requests.at(-1)).messages;
    expect(sent.map((message) => message.role)).toEqual(["user", "assistant", "user"]);
    expect(sent[0]!.content).toBe("first question");
    expect(sent[2]!.content).toBe("second question");

    const db = await getDb();
    const [saved] = await db.select().from(chats).where(eq(chats.userId, userId));
    expect(saved!.title).toBe("first question");
    expect(await db.$count(messages, eq(messages.chatId, done.chatId))).toBe(4);
  });

  it("a user cannot post into another user's chat", async () => {
    const owner = await signUp();
    const first = await readSse(await callRoute(chat, { body: { message: "private" }, cookie: owner.cookie }));
    const done = first.at(-1)!;
    if (done.type !== "done") throw new Error("expected a done event");

    const intruder = await signUp();
    const response = await callRoute(chat, { body: { chatId: done.chatId, message: "let me in" }, cookie: intruder.cookie });
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
    expect(await usageRows(intruder.userId)).toHaveLength(0);
  });

  it("requires a signed-in user", async () => {
    const response = await callRoute(chat, { body: { message: "hello" } });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("AUTH_REQUIRED");
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    ["malformed JSON", { rawBody: '{"message": ' }, 400, "INVALID_INPUT"],
    ["a missing message", { body: {} }, 400, "INVALID_INPUT"],
    ["an empty message", { body: { message: "   " } }, 400, "INVALID_INPUT"],
    ["a message that is not a string", { body: { message: 42 } }, 400, "INVALID_INPUT"],
    ["a chat id that is not a uuid", { body: { chatId: "abc", message: "hi" } }, 400, "INVALID_INPUT"],
    ["a model outside the plan", { body: { message: "hi", model: "gpt-4.1" } }, 400, "INVALID_INPUT"],
    ["a prompt over the plan's cap", { body: { message: "word ".repeat(3_000) } }, 413, "PROMPT_TOO_LONG"],
    ["a prompt over the size cap", { body: { message: "x".repeat(100_001) } }, 413, "PROMPT_TOO_LONG"],
  ])("rejects %s, writes nothing and charges nothing", async (_case, options, status, code) => {
    const { cookie, userId } = await signUp();
    const response = await callRoute(chat, { ...options, cookie });

    expect(response.status).toBe(status);
    const body = await response.json();
    expect(body.code).toBe(code);
    expect(body.error).toEqual(expect.any(String));
    expect(server.requests).toHaveLength(0);
    expect(await usageRows(userId)).toHaveLength(0);
    const db = await getDb();
    expect(await db.$count(chats, eq(chats.userId, userId))).toBe(0);
    expect(await countersOf(cookie)).toMatchObject({ requestsToday: 0, tokensToday: 0 });
  });

  it("admits exactly 20 of 50 parallel requests against 20 per day", async () => {
    const { cookie, userId } = await signUp();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, index) => callRoute(chat, { body: { message: `request ${index}` }, cookie })),
    );
    await Promise.all(responses.filter((response) => response.status === 200).map((response) => readSse(response)));

    expect(responses.filter((response) => response.status === 200)).toHaveLength(20);
    const refused = responses.filter((response) => response.status === 429);
    expect(refused).toHaveLength(30);
    for (const response of refused) {
      expect((await response.json()).code).toBe("DAILY_REQUEST_LIMIT");
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(server.requests).toHaveLength(20);

    const rows = await usageRows(userId);
    expect(rows).toHaveLength(20);
    const counters = await countersOf(cookie);
    expect(counters.requestsToday).toBe(20);
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0));
  });

  it("records an upstream failure as an error row and refunds its tokens", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ failWith: { status: 500, message: "model overloaded" } });
    const response = await callRoute(chat, { body: { message: "hello" }, cookie });

    // The model failed before any text, so the client gets a JSON error, not a stream.
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ code: "UPSTREAM_ERROR" });
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "error", totalTokens: 0, requestId: response.headers.get("x-request-id") });
    expect((await countersOf(cookie)).tokensToday).toBe(0);
  });

  it("records counted tokens when the stream reports no usage", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ omitUsage: true });
    const events = await readSse(await callRoute(chat, { body: { message: "hello there" }, cookie }));

    expect(events.at(-1)!.type).toBe("done");
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "ok", usageSource: "estimated" });
    expect(row!.tokensIn).toBeGreaterThan(0);
    expect(row!.tokensOut).toBeGreaterThan(0);
    expect(row!.costMicros).toBeGreaterThan(0);
    expect((await countersOf(cookie)).tokensToday).toBe(row!.totalTokens);
  });

  it("a client that disconnects cancels the model call and is charged what streamed", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ chunkDelayMs: 50 });
    const client = new AbortController();
    const response = await callRoute(chat, { body: { message: "a long answer please" }, cookie, signal: client.signal });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    client.abort();

    await expect.poll(async () => (await usageRows(userId)).length, { timeout: 5_000 }).toBe(1);
    const [row] = await usageRows(userId);
    expect(row).toMatchObject({ status: "aborted", usageSource: "estimated" });
    expect(row!.tokensIn).toBeGreaterThan(0);
    expect(row!.tokensOut).toBeGreaterThan(0);
    await expect.poll(() => server.requests.at(-1)?.aborted, { timeout: 2_000 }).toBe(true);
    expect((await countersOf(cookie)).tokensToday).toBe(row!.totalTokens);
  });
});

describe("GET /api/usage", () => {
  it("summarises the user's own requests", async () => {
    const { cookie } = await signUp();
    await readSse(await callRoute(chat, { body: { message: "hello" }, cookie }));
    await readSse(await callRoute(chat, { body: { message: "again" }, cookie }));
    const other = await signUp();
    await readSse(await callRoute(chat, { body: { message: "not mine" }, cookie: other.cookie }));

    const response = await callRoute(usage, { method: "GET", path: "/api/usage?days=7", cookie });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.today.requests).toBe(2);
    expect(body.daily).toHaveLength(7);
    expect(body.daily.at(-1).requests).toBe(2);
    expect(body.byFeature).toEqual([expect.objectContaining({ feature: "chat", requests: 2 })]);
    expect(body.byModel).toEqual([expect.objectContaining({ model: "gpt-4o-mini", requests: 2 })]);
    expect(body.recent).toHaveLength(2);
    expect(body.recent[0]).toMatchObject({ feature: "chat", status: "ok", usageSource: "reported" });
  });

  it("rejects days outside 1 to 90", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(usage, { method: "GET", path: "/api/usage?days=1000", cookie });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_INPUT");
  });
});

describe("plan changes", () => {
  it("apply to the next request without signing in again", async () => {
    const { cookie, userId } = await signUp();
    const db = await getDb();
    await db.update(users).set({ plan: "pro" }).where(and(eq(users.id, userId)));
    const body = await (await callRoute(me, { method: "GET", cookie })).json();
    expect(body.limits.requestsPerDay).toBe(200);
  });
});
