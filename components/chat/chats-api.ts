import type { ChatSummary } from "@/components/chat/types";
import { apiFetch, postJson, readErrorMessage } from "@/lib/client/api";

/** The outcome of a sidebar request: the value, or the API's sentence for a person. */
export type ApiResult<Value> = { ok: true; value: Value } | { ok: false; message: string };

const CONNECTION_FAILED = "The server could not be reached. Check your connection and try again.";

async function request<Value>(send: () => Promise<Response>, read: (response: Response) => Promise<Value>): Promise<ApiResult<Value>> {
  try {
    const response = await send();
    if (!response.ok) return { ok: false, message: await readErrorMessage(response) };
    return { ok: true, value: await read(response) };
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    return { ok: false, message: CONNECTION_FAILED };
  }
}

function chatPath(chatId: string): string {
  return `/api/chats/${encodeURIComponent(chatId)}`;
}

/** Lists the user's recent chats, or with a query those whose title or messages contain it. */
export function fetchChats(query: string, signal?: AbortSignal): Promise<ApiResult<ChatSummary[]>> {
  const path = query ? `/api/chats?q=${encodeURIComponent(query)}` : "/api/chats";
  return request(
    () => apiFetch(path, { cache: "no-store", signal }),
    async (response) => ((await response.json()) as { chats: ChatSummary[] }).chats.map(({ id, title }) => ({ id, title })),
  );
}

export function renameChat(chatId: string, title: string): Promise<ApiResult<ChatSummary>> {
  return request(
    () => apiFetch(chatPath(chatId), { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ title }) }),
    async (response) => ((await response.json()) as { chat: ChatSummary }).chat,
  );
}

export function deleteChat(chatId: string): Promise<ApiResult<null>> {
  return request(
    () => apiFetch(chatPath(chatId), { method: "DELETE" }),
    async () => null,
  );
}

/**
 * Asks the server to title a chat after its first answer. The server decides whether a title
 * call is made, through the gate, and returns the chat's title either way.
 */
export function requestGeneratedTitle(chatId: string): Promise<ApiResult<{ title: string; generated: boolean }>> {
  return request(
    () => postJson(`${chatPath(chatId)}/title`, {}),
    async (response) => (await response.json()) as { title: string; generated: boolean },
  );
}
