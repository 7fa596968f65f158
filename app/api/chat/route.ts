import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import {
  findChatByIdForUser,
  insertChat,
  insertMessage,
  listMessagesByChat,
  titleFromMessage,
} from "@/lib/chat/conversations";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { newRequestId, parseJsonBody, withErrorHandling } from "@/lib/http";
import { admitRequest, releaseAdmission } from "@/lib/limits/gate";
import { streamMeteredCompletion } from "@/lib/llm/metered-stream";
import { modelsForPlan } from "@/lib/llm/models";
import { buildPrompt } from "@/lib/llm/prompt";
import { getProvider } from "@/lib/llm/provider";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

// Checked before tokenising, so an enormous body costs no CPU; the plan's token cap applies after.
const MAX_MESSAGE_CHARACTERS = 100_000;

const chatSchema = z.object({
  chatId: z.uuid({ message: "must be the id of one of your chats" }).optional(),
  message: z
    .string({ message: "a message is required" })
    .refine((text) => text.trim().length > 0, { message: "the message is empty" }),
  model: z.string().max(100).optional(),
});

export const POST = withErrorHandling(async (request) => {
  const requestId = newRequestId();
  const db = await getDb();
  const user = await requireUser(db, request);
  const input = await parseJsonBody(request, chatSchema);

  if (input.message.length > MAX_MESSAGE_CHARACTERS) {
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

  const { messages, promptTokens } = buildPrompt({
    history: history.map(({ role, content }) => ({ role, content })),
    message: input.message,
    model,
    maxPromptTokens: limits.maxPromptTokens,
  });
  const admission = await admitRequest({ userId: user.id, limits, promptTokens, model, feature: "chat", requestId });

  // Nothing is written before admission, so a refused request leaves no trace. From here on the
  // reservation must be settled, even when saving the message fails.
  let chatId: string;
  try {
    chatId = chat?.id ?? (await insertChat(db, { userId: user.id, title: titleFromMessage(input.message) })).id;
    await insertMessage(db, { chatId, role: "user", content: input.message });
  } catch (error) {
    await releaseAdmission({ admission, userId: user.id, requestId, feature: "chat", model });
    throw error;
  }

  const stream = streamMeteredCompletion({
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
    saveAnswer: (text) => insertMessage(db, { chatId, role: "assistant", content: text }),
  });

  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      "X-Request-Id": requestId,
      // Sent before the answer, so a client that stops or loses the stream still knows the chat.
      "X-Chat-Id": chatId,
      ...admission.headers,
    },
  });
});
