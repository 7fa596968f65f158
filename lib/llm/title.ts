import { ApiError } from "@/lib/errors";
import { newRequestId } from "@/lib/http";
import { admitRequest } from "@/lib/limits/gate";
import type { PlanLimits } from "@/lib/limits/plans";
import { logger } from "@/lib/log";
import { runMeteredCall } from "@/lib/llm/metered-call";
import { getProvider } from "@/lib/llm/provider";
import { estimatePromptTokens, type ChatMessage } from "@/lib/llm/tokens";

// A title of a few words needs about a dozen tokens, and the cap also bounds what a call can cost.
const TITLE_MAX_OUTPUT_TOKENS = 24;
// Only the start of a long first message goes into the prompt, so a title costs little.
const TITLE_SOURCE_CHARACTERS = 1_500;
const TITLE_MAX_CHARACTERS = 60;

const TITLE_INSTRUCTIONS =
  "Write a title of at most six words for a conversation that begins with the user's message below. " +
  "Reply with the title only: no quotes, no Markdown and no full stop at the end.";

/**
 * Returns the limits a title call is admitted under: the plan's, with headroom kept for the
 * user's own messages, or null when the plan leaves no room for it. A title is a side feature,
 * so it may use at most half of the per-minute window and never the day's last request.
 * NOTE: on a plan with 3 requests per minute (the default free plan) a title may use 1, which
 * the chat's first answer already holds, so such chats keep the title made from their first message.
 */
export function titleCallLimits(limits: PlanLimits): PlanLimits | null {
  const requestsPerMinute = Math.floor(limits.requestsPerMinute / 2);
  const requestsPerDay = limits.requestsPerDay - 1;
  if (requestsPerMinute < 1 || requestsPerDay < 1) return null;
  return { ...limits, requestsPerMinute, requestsPerDay, maxOutputTokens: Math.min(limits.maxOutputTokens, TITLE_MAX_OUTPUT_TOKENS) };
}

/** Cleans a model's reply into a one-line title, or returns null when nothing usable is left. */
export function cleanTitle(reply: string): string | null {
  const firstLine = reply.trim().split(/\r?\n/, 1)[0] ?? "";
  const title = firstLine
    .replace(/^(title\s*:\s*)/i, "")
    .replace(/[*_#`]/g, "")
    .replace(/^["'“”‘’«»\s]+|["'“”‘’«»\s]+$/g, "")
    .replace(/[.。]+$/, "")
    .replace(/\s+/g, " ")
    .trim();
  if (title === "") return null;
  return title.length > TITLE_MAX_CHARACTERS ? `${title.slice(0, TITLE_MAX_CHARACTERS - 3)}...` : title;
}

/**
 * Requests a short title for a chat from the model, as one gated and metered call with feature
 * "title": admitted by the gate, settled, and recorded as a usage row like a chat call. Returns
 * null when the gate rejects the call or the model fails, and the caller then keeps the current title.
 */
export async function generateChatTitle(input: {
  userId: string;
  chatId: string;
  limits: PlanLimits;
  model: string;
  firstMessage: string;
  /** Aborts the call when the client goes away, and the call is then recorded as aborted. */
  signal: AbortSignal;
}): Promise<string | null> {
  const { userId, chatId, model } = input;
  const requestId = newRequestId();
  const limits = titleCallLimits(input.limits);
  if (!limits) {
    logger.warn("title call skipped: the plan leaves no room for it", { requestId, userId, chatId, feature: "title" });
    return null;
  }

  const messages: ChatMessage[] = [
    { role: "system", content: TITLE_INSTRUCTIONS },
    { role: "user", content: input.firstMessage.slice(0, TITLE_SOURCE_CHARACTERS) },
  ];
  const promptTokens = estimatePromptTokens(messages, model);

  let admission;
  try {
    admission = await admitRequest({ userId, limits, promptTokens, model, feature: "title", requestId });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    logger.warn("title call rejected by the gate; the chat keeps its first-message title", {
      requestId,
      userId,
      chatId,
      feature: "title",
      code: error.code,
    });
    return null;
  }

  const result = await runMeteredCall({
    userId,
    requestId,
    feature: "title",
    model,
    messages,
    estimatedPromptTokens: promptTokens,
    admission,
    provider: getProvider(),
    chatId,
    signal: input.signal,
  });
  if (result.status !== "ok") {
    logger.warn("title call did not finish; the chat keeps its first-message title", {
      requestId,
      userId,
      chatId,
      feature: "title",
      status: result.status,
      error: result.error,
    });
    return null;
  }
  return cleanTitle(result.text);
}
