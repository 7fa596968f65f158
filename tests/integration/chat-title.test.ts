import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { PATCH as renameChat } from "@/app/api/chats/[chatId]/route";
import { POST as generateTitle } from "@/app/api/chats/[chatId]/title/route";
import { GET as me } from "@/app/api/me/route";
import { getDb } from "@/lib/db/client";
import { chats, llmUsage, users } from "@/lib/db/schema";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { cleanTitle, titleCallLimits } from "@/lib/llm/title";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

let server: OpenAIServer;

// The default plans: the free plan's 3 requests per minute is the case the title headroom is about.
beforeAll(async () => {
  server = await startOpenAIServer();
  configureTestEnvironment({ openaiBaseUrl: server.url });
});

afterAll(() => server.close());

beforeEach(() => server.reset());

async function signUp(plan: "free" | "pro" = "free") {
  const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
  const userId = (await response.json()).user.id as string;
  if (plan !== "free") await (await getDb()).update(users).set({ plan }).where(eq(users.id, userId));
  return { cookie: cookieHeader(response), userId };
}

async function startChat(cookie: string, message: string): Promise<string> {
  const response = await callRoute(chat, { body: { message }, cookie });
  await readSse(response);
  return response.headers.get("x-chat-id")!;
}

async function requestTitle(cookie: string, chatId: string) {
  const response = await callRoute(generateTitle, { method: "POST", cookie, params: { chatId } });
  return { status: response.status, body: await response.json() };
}

async function usageRows(userId: string) {
  return (await getDb()).select().from(llmUsage).where(eq(llmUsage.userId, userId));
}

async function storedTitle(chatId: string) {
  const [row] = await (await getDb()).select({ title: chats.title }).from(chats).where(eq(chats.id, chatId));
  return row?.title;
}

describe("POST /api/chats/:chatId/title", () => {
  it("generates a title through the gate as feature title", async () => {
    const { cookie, userId } = await signUp("pro");
    server.setBehaviour({ reply: '"Comparing toll road pricing."' });
    const chatId = await startChat(cookie, "how do toll roads decide what to charge each car?");

    const { status, body } = await requestTitle(cookie, chatId);
    expect(status).toBe(200);
    expect(body).toEqual({ title: "Comparing toll road pricing", generated: true });
    expect(await storedTitle(chatId)).toBe("Comparing toll road pricing");

    const titleCall = server.requests.at(-1)!.body as { max_tokens: number; messages: Array<{ role: string; content: string }> };
    expect(titleCall.max_tokens).toBe(24);
    expect(titleCall.messages.map((message) => message.role)).toEqual(["system", "user"]);
    expect(titleCall.messages[1]!.content).toBe("how do toll roads decide what to charge each car?");

    const rows = await usageRows(userId);
    const titleRow = rows.find((row) => row.feature === "title");
    expect(titleRow).toMatchObject({ status: "ok", chatId, usageSource: "reported" });
    expect(titleRow!.totalTokens).toBeGreaterThan(0);
    const counters = (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
    expect(counters.requestsToday).toBe(2);
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0));
  });

  it("titles a chat only once", async () => {
    const { cookie, userId } = await signUp("pro");
    server.setBehaviour({ reply: "Toll roads" });
    const chatId = await startChat(cookie, "toll roads?");
    await requestTitle(cookie, chatId);

    const again = await requestTitle(cookie, chatId);
    expect(again.body).toEqual({ title: "Toll roads", generated: false });
    expect(server.requests).toHaveLength(2);
    expect(await usageRows(userId)).toHaveLength(2);
  });

  it("free plan keeps first-message title", async () => {
    const { cookie, userId } = await signUp("free");
    const chatId = await startChat(cookie, "a free plan question");

    const { status, body } = await requestTitle(cookie, chatId);
    expect(status).toBe(200);
    expect(body).toEqual({ title: "a free plan question", generated: false });
    expect(server.requests).toHaveLength(1);
    expect((await usageRows(userId)).map((row) => row.feature)).toEqual(["chat"]);

    // The gate leaves half the minute window to the user, so it rejects the title call, and the
    // rejection costs nothing: the user still has the plan's other two requests.
    const counters = (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
    expect(counters.requestsThisMinute).toBe(1);
  });

  it("keeps the first-message title when the model fails, with an error row", async () => {
    const { cookie, userId } = await signUp("pro");
    const chatId = await startChat(cookie, "question before an outage");
    server.setBehaviour({ failWith: { status: 400, message: "bad request" } });

    const { status, body } = await requestTitle(cookie, chatId);
    expect(status).toBe(200);
    expect(body).toEqual({ title: "question before an outage", generated: false });

    const titleRow = (await usageRows(userId)).find((row) => row.feature === "title");
    expect(titleRow).toMatchObject({ status: "error", totalTokens: 0, costMicros: 0 });
    const rows = await usageRows(userId);
    const counters = (await (await callRoute(me, { method: "GET", cookie })).json()).usage;
    expect(counters.tokensToday).toBe(rows.reduce((sum, row) => sum + row.totalTokens, 0));
  });

  it("does not replace a title the user chose", async () => {
    const { cookie } = await signUp("pro");
    const chatId = await startChat(cookie, "original question");
    await callRoute(renameChat, { method: "PATCH", cookie, params: { chatId }, body: { title: "My own title" } });
    server.reset();

    const { body } = await requestTitle(cookie, chatId);
    expect(body).toEqual({ title: "My own title", generated: false });
    expect(server.requests).toHaveLength(0);
  });

  it("waits for the first answer", async () => {
    const { cookie } = await signUp("pro");
    server.setBehaviour({ failWith: { status: 400, message: "bad request" } });
    const response = await callRoute(chat, { body: { message: "never answered" }, cookie });
    const chatId = response.headers.get("x-chat-id")!;
    server.reset();

    const { body } = await requestTitle(cookie, chatId);
    expect(body).toEqual({ title: "never answered", generated: false });
    expect(server.requests).toHaveLength(0);
  });

  it("a user cannot title another user's chat", async () => {
    const owner = await signUp("pro");
    const chatId = await startChat(owner.cookie, "owner's question");
    server.reset();
    const intruder = await signUp("pro");

    const { status, body } = await requestTitle(intruder.cookie, chatId);
    expect(status).toBe(404);
    expect(body.code).toBe("NOT_FOUND");
    expect(server.requests).toHaveLength(0);
    expect(await usageRows(intruder.userId)).toHaveLength(0);
  });
});

describe("titleCallLimits", () => {
  it("halves the minute window and keeps the day's last request", () => {
    expect(titleCallLimits(DEFAULT_PLANS.pro)).toMatchObject({ requestsPerMinute: 5, requestsPerDay: 199, maxOutputTokens: 24 });
  });

  it("returns null when no request is left for a title", () => {
    expect(titleCallLimits({ ...DEFAULT_PLANS.free, requestsPerMinute: 1 })).toBeNull();
    expect(titleCallLimits({ ...DEFAULT_PLANS.free, requestsPerDay: 1 })).toBeNull();
  });
});

describe("cleanTitle", () => {
  it.each([
    ["Trip plans", "Trip plans"],
    ['"Trip plans."', "Trip plans"],
    ["**Trip plans**", "Trip plans"],
    ["Title: Trip plans", "Trip plans"],
    ["Trip plans\nA second line", "Trip plans"],
    ["  Trip   plans  ", "Trip plans"],
    [`${"word ".repeat(20)}`, `${"word ".repeat(12).slice(0, 57)}...`],
  ])("turns %j into %j", (reply, title) => {
    expect(cleanTitle(reply)).toBe(title);
  });

  it("returns null for an empty reply", () => {
    expect(cleanTitle(' "" ')).toBeNull();
  });
});
