import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { GET as me } from "@/app/api/me/route";
import { listMessagesByChat } from "@/lib/chat/conversations";
import { getDb } from "@/lib/db/client";
import { chats, llmUsage } from "@/lib/db/schema";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

let server: OpenAIServer;

// Three requests a day, so the limit test can reach it, and roomy minutes, so nothing else rejects a request.
const REQUESTS_PER_DAY = 3;

beforeAll(async () => {
  server = await startOpenAIServer();
  configureTestEnvironment({
    openaiBaseUrl: server.url,
    planLimits: { free: { requestsPerMinute: 100, requestsPerDay: REQUESTS_PER_DAY, tokensPerDay: 20_000 } },
  });
});

afterAll(() => server.close());

beforeEach(() => server.reset());

async function signUp() {
  const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string };
}

/** Sends a message in a new chat (or `chatId`) and returns the chat's id once the answer is done. */
async function send(cookie: string, message: string, chatId?: string): Promise<string> {
  const response = await callRoute(chat, { body: { message, ...(chatId ? { chatId } : {}) }, cookie });
  expect(response.status).toBe(200);
  await readSse(response);
  return response.headers.get("x-chat-id")!;
}

async function storedMessages(chatId: string) {
  const rows = await listMessagesByChat(await getDb(), { chatId });
  return rows.map(({ role, content }) => ({ role, content }));
}

async function usageRows(userId: string) {
  return (await getDb()).select().from(llmUsage).where(eq(llmUsage.userId, userId));
}

function sentMessages(index = -1) {
  const body = server.requests.at(index)!.body as { messages: Array<{ role: string; content: string }> };
  return body.messages.map(({ role, content }) => ({ role, content }));
}

describe("regenerate", () => {
  it("answers the last message again and replaces the answer", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: "old answer" });
    const chatId = await send(cookie, "first question");

    server.setBehaviour({ reply: "new answer" });
    const response = await callRoute(chat, { body: { action: "regenerate", chatId }, cookie });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-chat-id")).toBe(chatId);
    const events = await readSse(response);
    expect(events.at(-1)!.type).toBe("done");

    // The model saw the question without the answer it replaces.
    expect(sentMessages()).toEqual([{ role: "user", content: "first question" }]);
    expect(await storedMessages(chatId)).toEqual([
      { role: "user", content: "first question" },
      { role: "assistant", content: "new answer" },
    ]);
    const rows = await usageRows(userId);
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.feature === "chat" && row.status === "ok" && row.chatId === chatId)).toBe(true);
  });

  it("adds the answer a failed call never stored", async () => {
    const { cookie } = await signUp();
    server.setBehaviour({ failWith: { status: 400, message: "bad request" } });
    const failed = await callRoute(chat, { body: { message: "unanswered" }, cookie });
    expect(failed.status).toBe(502);
    const chatId = failed.headers.get("x-chat-id")!;
    expect(await storedMessages(chatId)).toEqual([{ role: "user", content: "unanswered" }]);

    server.setBehaviour({ failWith: null, reply: "late answer" });
    await readSse(await callRoute(chat, { body: { action: "regenerate", chatId }, cookie }));
    expect(await storedMessages(chatId)).toEqual([
      { role: "user", content: "unanswered" },
      { role: "assistant", content: "late answer" },
    ]);
  });

  it("keeps the previous answer when the new call fails", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: "keep me" });
    const chatId = await send(cookie, "question");

    server.setBehaviour({ failWith: { status: 400, message: "bad request" } });
    const response = await callRoute(chat, { body: { action: "regenerate", chatId }, cookie });
    expect(response.status).toBe(502);
    expect((await response.json()).code).toBe("UPSTREAM_ERROR");

    expect(await storedMessages(chatId)).toEqual([
      { role: "user", content: "question" },
      { role: "assistant", content: "keep me" },
    ]);
    const rows = await usageRows(userId);
    expect(rows.map((row) => row.status).sort()).toEqual(["error", "ok"]);
  });

  it("a stopped regenerate stores the text streamed so far", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: "short" });
    const chatId = await send(cookie, "question");

    server.setBehaviour({ reply: "a much longer answer that streams slowly ".repeat(10), chunkDelayMs: 50 });
    const client = new AbortController();
    const response = await callRoute(chat, { body: { action: "regenerate", chatId }, cookie, signal: client.signal });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    client.abort();

    await expect.poll(async () => (await usageRows(userId)).length, { timeout: 5_000 }).toBe(2);
    await expect.poll(async () => (await storedMessages(chatId))[1]?.content, { timeout: 5_000 }).toMatch(/^a much longer/);
    expect(await storedMessages(chatId)).toHaveLength(2);
    expect((await usageRows(userId)).map((row) => row.status).sort()).toEqual(["aborted", "ok"]);
  });
});

describe("edit", () => {
  it("replaces the last message and its answer", async () => {
    const { cookie, userId } = await signUp();
    server.setBehaviour({ reply: "answer" });
    const chatId = await send(cookie, "q1");
    await send(cookie, "q2", chatId);

    server.setBehaviour({ reply: "answer to the edit" });
    const response = await callRoute(chat, { body: { action: "edit", chatId, message: "q2 edited" }, cookie });
    expect(response.status).toBe(200);
    await readSse(response);

    expect(sentMessages()).toEqual([
      { role: "user", content: "q1" },
      { role: "assistant", content: "answer" },
      { role: "user", content: "q2 edited" },
    ]);
    expect(await storedMessages(chatId)).toEqual([
      { role: "user", content: "q1" },
      { role: "assistant", content: "answer" },
      { role: "user", content: "q2 edited" },
      { role: "assistant", content: "answer to the edit" },
    ]);
    expect(await usageRows(userId)).toHaveLength(3);
  });

  it("retitles a chat still titled after its first message", async () => {
    const { cookie, userId } = await signUp();
    const chatId = await send(cookie, "first wording");
    await readSse(await callRoute(chat, { body: { action: "edit", chatId, message: "second wording" }, cookie }));

    const [saved] = await (await getDb()).select().from(chats).where(eq(chats.userId, userId));
    expect(saved!.title).toBe("second wording");
  });

  it.each([
    ["an empty message", { action: "edit", message: "  " }],
    ["a missing message", { action: "edit" }],
    ["an unknown action", { action: "rewrite", message: "hi" }],
  ])("rejects %s without a model call", async (_case, body) => {
    const { cookie, userId } = await signUp();
    const chatId = await send(cookie, "question");
    server.reset();

    const response = await callRoute(chat, { body: { ...body, chatId }, cookie });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_INPUT");
    expect(server.requests).toHaveLength(0);
    expect(await usageRows(userId)).toHaveLength(1);
  });
});

describe("regenerate and edit", () => {
  it.each(["regenerate", "edit"])("%s needs a chat id", async (action) => {
    const { cookie } = await signUp();
    const response = await callRoute(chat, { body: { action, message: "hi" }, cookie });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/chatId/);
    expect(server.requests).toHaveLength(0);
  });

  it.each(["regenerate", "edit"])("a user cannot %s another user's chat", async (action) => {
    const owner = await signUp();
    server.setBehaviour({ reply: "private answer" });
    const chatId = await send(owner.cookie, "private question");
    server.reset();

    const intruder = await signUp();
    const response = await callRoute(chat, { body: { action, chatId, message: "mine now" }, cookie: intruder.cookie });
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
    expect(server.requests).toHaveLength(0);
    expect(await usageRows(intruder.userId)).toHaveLength(0);
    expect(await storedMessages(chatId)).toEqual([
      { role: "user", content: "private question" },
      { role: "assistant", content: "private answer" },
    ]);
  });

  it("count against the plan like any chat call", async () => {
    const { cookie, userId } = await signUp();
    const chatId = await send(cookie, "question");
    await readSse(await callRoute(chat, { body: { action: "regenerate", chatId }, cookie }));
    await readSse(await callRoute(chat, { body: { action: "edit", chatId, message: "edited" }, cookie }));
    const before = await storedMessages(chatId);

    const response = await callRoute(chat, { body: { action: "regenerate", chatId }, cookie });
    expect(response.status).toBe(429);
    expect((await response.json()).code).toBe("DAILY_REQUEST_LIMIT");
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);

    expect(await storedMessages(chatId)).toEqual(before);
    const rows = await usageRows(userId);
    expect(rows).toHaveLength(REQUESTS_PER_DAY);
    const counters = (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
    expect(counters.requestsToday).toBe(REQUESTS_PER_DAY);
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0));
  });
});
