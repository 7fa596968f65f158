import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { findChatByIdForUser, listMessagesByChat } from "@/lib/chat/conversations";
import { planTurn, saveTurnAnswer, saveTurnQuestion } from "@/lib/chat/turns";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { newRequestId, parseJsonBody, withErrorHandling } from "@/lib/http";
import { admitRequest, releaseAdmission } from "@/lib/limits/gate";
import { openMeteredStream } from "@/lib/llm/metered-stream";
import { modelsForPlan } from "@/lib/llm/models";
import { buildPrompt } from "@/lib/llm/prompt";
import { getProvider } from "@/lib/llm/provider";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Checked before tokenising, so an enormous body costs no CPU; the plan's token cap applies after.
const MAX_MESSAGE_CHARACTERS = 100_000;

const chatIdField = z.uuid({ message: "must be the id of one of your chats" });
const messageField = z
  .string({ message: "a message is required" })
  .refine((text) => text.trim().length > 0, { message: "the message is empty" });
const modelField = z.string().max(100).optional();

// `action` defaults to "send", so the original body `{chatId?, message, model?}` keeps working.
// Regenerate and edit work on an existing chat, so they need its id.
const chatSchema = z.preprocess(
  (body) => (body && typeof body === "object" && !("action" in body) ? { ...body, action: "send" } : body),
  z.discriminatedUnion(
    "action",
    [
      z.object({ action: z.literal("send"), chatId: chatIdField.optional(), message: messageField, model: modelField }),
      z.object({ action: z.literal("edit"), chatId: chatIdField, message: messageField, model: modelField }),
      z.object({ action: z.literal("regenerate"), chatId: chatIdField, model: modelField }),
    ],
    { message: "must be send, edit or regenerate" },
  ),
);

export const POST = withErrorHandling(async (request) => {
  const requestId = newRequestId();
  const db = await getDb();
  const user = await requireUser(db, request);
  const input = await parseJsonBody(request, chatSchema);

  if (input.action !== "regenerate" && input.message.length > MAX_MESSAGE_CHARACTERS) {
    throw new ApiError("PROMPT_TOO_LONG", `The message is longer than ${MAX_MESSAGE_CHARACTERS.toLocaleString("en-US")} characters. Shorten it and try again.`);
  }

  const { plans, llm } = getConfig();
  const limits = plans[user.plan];
  const allowedModels = modelsForPlan(user.plan, llm.model);
  const model = input.model ?? allowedModels[0]!;
  if (!allowedModels.includes(model)) {
    throw new ApiError("INVALID_INPUT", `Invalid model: your plan allows ${allowedModels.join(", ")}.`);
  }

  const chat = input.chatId ? await findChatByIdForUser(db, { chatId: input.chatId, userId: user.id }) : undefined;
  if (input.chatId && !chat) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  const history = chat ? await listMessagesByChat(db, { chatId: chat.id }) : [];
  const turn = planTurn(input, history);

  const { messages, promptTokens } = buildPrompt({
    history: turn.history,
    message: turn.question,
    model,
    maxPromptTokens: limits.maxPromptTokens,
  });
  const admission = await admitRequest({ userId: user.id, limits, promptTokens, model, feature: "chat", requestId });

  // Nothing is written before admission, so a refused request leaves no trace. From here on the
  // reservation must be settled, even when saving the message fails.
  let chatId: string;
  try {
    chatId = await saveTurnQuestion(db, { turn, chatId: chat?.id ?? null, userId: user.id });
  } catch (error) {
    await releaseAdmission({ admission, userId: user.id, requestId, feature: "chat", model });
    throw error;
  }

  const opened = await openMeteredStream({
    userId: user.id,
    requestId,
    feature: "chat",
    model,
    messages,
    estimatedPromptTokens: promptTokens,
    admission,
    provider: getProvider(),
    chatId,
    signal: request.signal,
    saveAnswer: (text) => saveTurnAnswer(db, { turn, chatId, userId: user.id, text }),
  });
  const headers = { "X-Request-Id": requestId, "X-Chat-Id": chatId, ...admission.headers };
  // A model that fails before sending any text gets a JSON error, like every other rejection.
  if (!opened.ok) return Response.json({ error: opened.error.message, code: opened.error.code }, { status: opened.error.status, headers });

  return new Response(opened.stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      // X-Chat-Id tells a client that stops or loses the stream which chat the message went to.
      ...headers,
    },
  });
});
