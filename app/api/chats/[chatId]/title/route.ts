import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { requireOwnedChat } from "@/lib/chat/access";
import { findChatByIdForUser, listMessagesByChat, titleFromMessage, updateChatTitleIfUnchanged } from "@/lib/chat/conversations";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";
import { modelsForPlan } from "@/lib/llm/models";
import { generateChatTitle } from "@/lib/llm/title";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

type Context = { params: Promise<{ chatId: string }> };

/**
 * Generates a title for a chat once its first message has an answer, and returns the chat's
 * title, with `generated` set when it changed. Only a chat still titled after its first
 * message gets one, so a renamed or already titled chat costs nothing. The title call fails
 * soft: when the gate rejects it or the model fails, the current title stays and the response
 * is still 200.
 */
export const POST = withErrorHandling<Context>(async (request, { params }) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const { chatId } = await params;
  const chat = await requireOwnedChat(db, { chatId, userId: user.id });
  const unchanged = NextResponse.json({ title: chat.title, generated: false });

  const stored = await listMessagesByChat(db, { chatId });
  const firstQuestion = stored.find((message) => message.role === "user");
  const answered = stored.some((message) => message.role === "assistant");
  if (!firstQuestion || !answered || chat.title !== titleFromMessage(firstQuestion.content)) return unchanged;

  // The demo model returns the same explanation for every prompt, so it cannot make a title.
  const { plans, llm } = getConfig();
  if (llm.kind === "demo") return unchanged;

  const title = await generateChatTitle({
    userId: user.id,
    chatId,
    limits: plans[user.plan],
    model: modelsForPlan(user.plan, llm.model)[0]!,
    firstMessage: firstQuestion.content,
    signal: request.signal,
  });
  if (!title) return unchanged;

  // A rename that landed while the model was writing wins over the generated title.
  if (await updateChatTitleIfUnchanged(db, { chatId, userId: user.id, expectedTitle: chat.title, title })) {
    return NextResponse.json({ title, generated: true });
  }
  const current = await findChatByIdForUser(db, { chatId, userId: user.id });
  return NextResponse.json({ title: current?.title ?? chat.title, generated: false });
});
