import { postJson, readErrorMessage } from "@/lib/client/api";
import { readServerSentEvents } from "@/lib/client/sse";

export type AnswerUsage = { promptTokens: number; completionTokens: number; totalTokens: number; costUsd: number };

/** The events of the `/api/chat` stream, one JSON object per `data:` line. */
type ChatStreamEvent =
  | { type: "delta"; text: string }
  | { type: "done"; usage: AnswerUsage; chatId: string | null }
  | { type: "error"; code: string; error: string };

export type ChatStreamResult =
  /** The answer finished; `chatId` is the chat it was saved in. */
  | { kind: "done"; usage: AnswerUsage; chatId: string | null }
  /**
   * The model failed after the request was admitted, so the question is stored in the chat.
   * Some text may have arrived before the failure.
   */
  | { kind: "failed"; code: string; message: string }
  /**
   * The request was rejected before the model was called, and nothing was stored.
   * `retryAfterSeconds` is set for 429s.
   */
  | { kind: "rejected"; status: number; code: string | null; message: string; retryAfterSeconds: number | null }
  /** The stream closed without a final event, for example when the connection dropped. */
  | { kind: "incomplete" };

function parseEvent(data: string): ChatStreamEvent | null {
  try {
    const event = JSON.parse(data) as Partial<ChatStreamEvent> | null;
    if (event && typeof event === "object" && typeof event.type === "string") return event as ChatStreamEvent;
  } catch {
    // Not JSON: skipped, like any other line this client does not understand.
  }
  return null;
}

function parseRetryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  // Retry-After may also be an HTTP date.
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

async function readRejection(response: Response): Promise<Extract<ChatStreamResult, { kind: "rejected" }>> {
  let code: string | null = null;
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    if (typeof body.code === "string") code = body.code;
  } catch {
    // The message below falls back to the status.
  }
  return {
    kind: "rejected",
    status: response.status,
    code,
    message: await readErrorMessage(response),
    retryAfterSeconds: parseRetryAfter(response.headers.get("Retry-After")),
  };
}

/** One chat request: a new message, a new answer to the last message, or a replacement for it. */
export type ChatTurn =
  | { action: "send"; chatId: string | null; message: string }
  | { action: "regenerate"; chatId: string }
  | { action: "edit"; chatId: string; message: string };

function requestBody(turn: ChatTurn, model: string | null): Record<string, string> {
  const body: Record<string, string> = {};
  // A plain send keeps the original body `{chatId?, message, model?}`.
  if (turn.action !== "send") body.action = turn.action;
  if (turn.chatId) body.chatId = turn.chatId;
  if (turn.action !== "regenerate") body.message = turn.message;
  if (model) body.model = model;
  return body;
}

/**
 * Sends one chat request and streams the answer, calling `onDelta` with each piece of text.
 * `onChatId` runs as soon as the response names the chat the request was stored in (the
 * X-Chat-Id header), before any text, so a new chat is known even when the answer is stopped.
 * Aborting `signal` stops the stream and rejects with the abort's DOMException.
 */
export async function streamChatAnswer(input: {
  turn: ChatTurn;
  model: string | null;
  signal: AbortSignal;
  onChatId?: (chatId: string) => void;
  onDelta: (text: string) => void;
}): Promise<ChatStreamResult> {
  const response = await postJson("/api/chat", requestBody(input.turn, input.model), { signal: input.signal });
  const chatId = response.headers.get("X-Chat-Id");
  if (chatId) input.onChatId?.(chatId);

  if (!response.ok || !response.body) {
    const rejection = await readRejection(response);
    // Only admitted requests carry X-Chat-Id: their question is stored although the model failed.
    return chatId ? { kind: "failed", code: rejection.code ?? "UPSTREAM_ERROR", message: rejection.message } : rejection;
  }

  for await (const data of readServerSentEvents(response.body)) {
    const event = parseEvent(data);
    switch (event?.type) {
      case "delta":
        input.onDelta(event.text);
        break;
      case "done":
        return { kind: "done", usage: event.usage, chatId: event.chatId };
      case "error":
        return { kind: "failed", code: event.code, message: event.error };
    }
  }
  return { kind: "incomplete" };
}
