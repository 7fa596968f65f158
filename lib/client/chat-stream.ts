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
  /** The model failed after the stream began; some text may have arrived before it. */
  | { kind: "stream-error"; code: string; message: string }
  /** The request was rejected with a JSON error before streaming. `retryAfterSeconds` is set for 429s. */
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

async function readRejection(response: Response): Promise<ChatStreamResult> {
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

/**
 * Sends one chat message and streams the answer, calling `onDelta` with each piece of text.
 * Aborting `signal` stops the stream and rejects with the abort's DOMException.
 */
export async function streamChatAnswer(input: {
  chatId: string | null;
  message: string;
  model: string | null;
  signal: AbortSignal;
  onDelta: (text: string) => void;
}): Promise<ChatStreamResult> {
  const body: Record<string, string> = { message: input.message };
  if (input.chatId) body.chatId = input.chatId;
  if (input.model) body.model = input.model;

  const response = await postJson("/api/chat", body, { signal: input.signal });
  if (!response.ok || !response.body) return readRejection(response);

  for await (const data of readServerSentEvents(response.body)) {
    const event = parseEvent(data);
    switch (event?.type) {
      case "delta":
        input.onDelta(event.text);
        break;
      case "done":
        return { kind: "done", usage: event.usage, chatId: event.chatId };
      case "error":
        return { kind: "stream-error", code: event.code, message: event.error };
    }
  }
  return { kind: "incomplete" };
}
