import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { DELETE as deleteChat, PATCH as renameChat } from "@/app/api/chats/[chatId]/route";
import { GET as listChats } from "@/app/api/chats/route";
import { GET as me } from "@/app/api/me/route";
import { getDb } from "@/lib/db/client";
import { chats, llmUsage, messages } from "@/lib/db/schema";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

let server: OpenAIServer;

beforeAll(async () => {
  server = await startOpenAIServer();
  configureTestEnvironment({ openaiBaseUrl: server.url, planLimits: { free: { requestsPerMinute: 100 } } });
});

afterAll(() => server.close());

beforeEach(() => server.reset());

async function signUp() {
  const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string };
}

async function startChat(cookie: string, message: string): Promise<string> {
  const response = await callRoute(chat, { body: { message }, cookie });
  await readSse(response);
  return response.headers.get("x-chat-id")!;
}

type ListedChat = { id: string; title: string; updatedAt: string };

async function search(cookie: string, query?: string): Promise<ListedChat[]> {
  const path = query === undefined ? "/api/chats" : `/api/chats?q=${encodeURIComponent(query)}`;
  const response = await callRoute(listChats, { method: "GET", path, cookie });
  expect(response.status).toBe(200);
  return (await response.json()).chats;
}

describe("GET /api/chats", () => {
  it("lists the user's own chats, most recent first", async () => {
    const { cookie } = await signUp();
    const older = await startChat(cookie, "older chat");
    const newer = await startChat(cookie, "newer chat");
    const other = await signUp();
    await startChat(other.cookie, "someone else's chat");

    const listed = await search(cookie);
    expect(listed.map((entry) => entry.id)).toEqual([newer, older]);
    expect(listed[0]).toMatchObject({ title: "newer chat", updatedAt: expect.any(String) });
  });

  it("finds chats by title or message text, ignoring case", async () => {
    const { cookie } = await signUp();
    server.setBehaviour({ reply: "Bananas are berries." });
    const fruit = await startChat(cookie, "Tell me about fruit");
    server.setBehaviour({ reply: "Granite is igneous." });
    const rocks = await startChat(cookie, "Tell me about ROCKS");

    expect((await search(cookie, "rocks")).map((entry) => entry.id)).toEqual([rocks]);
    expect((await search(cookie, "BERRIES")).map((entry) => entry.id)).toEqual([fruit]);
    expect((await search(cookie, "tell me")).map((entry) => entry.id)).toEqual([rocks, fruit]);
    expect(await search(cookie, "volcano")).toEqual([]);
  });

  it("matches % and _ literally", async () => {
    const { cookie } = await signUp();
    const percent = await startChat(cookie, "a 50% discount");
    await startChat(cookie, "a 500 discount");
    const underscore = await startChat(cookie, "snake_case names");
    await startChat(cookie, "snakeXcase names");

    expect((await search(cookie, "50%")).map((entry) => entry.id)).toEqual([percent]);
    expect((await search(cookie, "e_c")).map((entry) => entry.id)).toEqual([underscore]);
  });

  it("never returns another user's chat", async () => {
    const owner = await signUp();
    await startChat(owner.cookie, "secret project plan");
    const other = await signUp();
    expect(await search(other.cookie, "secret")).toEqual([]);
  });

  it("rejects a search over 200 characters", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(listChats, { method: "GET", path: `/api/chats?q=${"x".repeat(201)}`, cookie });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_INPUT");
  });

  it("requires a signed-in user", async () => {
    const response = await callRoute(listChats, { method: "GET", path: "/api/chats" });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("AUTH_REQUIRED");
  });
});

describe("PATCH /api/chats/:chatId", () => {
  it("renames the chat, collapsing white space", async () => {
    const { cookie } = await signUp();
    const chatId = await startChat(cookie, "first title");
    const response = await callRoute(renameChat, { method: "PATCH", cookie, params: { chatId }, body: { title: "  Trip \n plans " } });

    expect(response.status).toBe(200);
    expect((await response.json()).chat).toEqual({ id: chatId, title: "Trip plans" });
    expect((await search(cookie))[0]!.title).toBe("Trip plans");
  });

  it.each([
    ["an empty title", { title: "   " }],
    ["a missing title", {}],
    ["a title over 120 characters", { title: "x".repeat(121) }],
    ["an unknown field", { title: "ok", pinned: true }],
  ])("rejects %s", async (_case, body) => {
    const { cookie } = await signUp();
    const chatId = await startChat(cookie, "keep this title");
    const response = await callRoute(renameChat, { method: "PATCH", cookie, params: { chatId }, body });

    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_INPUT");
    expect((await search(cookie))[0]!.title).toBe("keep this title");
  });

  it("a user cannot rename another user's chat", async () => {
    const owner = await signUp();
    const chatId = await startChat(owner.cookie, "owner's title");
    const intruder = await signUp();
    const response = await callRoute(renameChat, { method: "PATCH", cookie: intruder.cookie, params: { chatId }, body: { title: "taken" } });

    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
    expect((await search(owner.cookie))[0]!.title).toBe("owner's title");
  });

  it("answers 404 for a malformed chat id", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(renameChat, { method: "PATCH", cookie, params: { chatId: "not-a-uuid" }, body: { title: "x" } });
    expect(response.status).toBe(404);
  });
});

describe("DELETE /api/chats/:chatId", () => {
  it("deletes the chat and its messages but keeps its usage rows", async () => {
    const { cookie, userId } = await signUp();
    const chatId = await startChat(cookie, "to be deleted");
    const tokensBefore = (await (await callRoute(me, { method: "GET", cookie })).json()).usage.tokensToday;

    const response = await callRoute(deleteChat, { method: "DELETE", cookie, params: { chatId } });
    expect(response.status).toBe(204);

    const db = await getDb();
    expect(await db.$count(chats, eq(chats.id, chatId))).toBe(0);
    expect(await db.$count(messages, eq(messages.chatId, chatId))).toBe(0);
    const rows = await db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.chatId).toBeNull();
    expect((await (await callRoute(me, { method: "GET", cookie })).json()).usage.tokensToday).toBe(tokensBefore);
  });

  it("a user cannot delete another user's chat", async () => {
    const owner = await signUp();
    const chatId = await startChat(owner.cookie, "owner's chat");
    const intruder = await signUp();
    const response = await callRoute(deleteChat, { method: "DELETE", cookie: intruder.cookie, params: { chatId } });

    expect(response.status).toBe(404);
    expect(await (await getDb()).$count(chats, eq(chats.id, chatId))).toBe(1);
  });

  it("answers 404 for a chat already deleted", async () => {
    const { cookie } = await signUp();
    const chatId = await startChat(cookie, "twice");
    await callRoute(deleteChat, { method: "DELETE", cookie, params: { chatId } });
    const response = await callRoute(deleteChat, { method: "DELETE", cookie, params: { chatId } });
    expect(response.status).toBe(404);
  });
});
