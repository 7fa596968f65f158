import { notFound, redirect } from "next/navigation";
import { ChatWorkspace } from "@/components/chat/chat-workspace";
import type { Budget, ChatMessageView } from "@/components/chat/types";
import { getCurrentUser } from "@/lib/auth/current-user";
import { findChatByIdForUser, listChatsByUser, listMessagesByChat } from "@/lib/chat/conversations";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getCounterStore } from "@/lib/limits/gate";
import { modelsForPlan } from "@/lib/llm/models";

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Loads the user's chats, the selected chat's messages and today's budget, then renders the chat UI. */
export async function ChatScreen({ chatId }: { chatId: string | null }) {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");

  // Checked before querying: PostgreSQL rejects a malformed uuid with an error, not an empty result.
  if (chatId !== null && !UUID_PATTERN.test(chatId)) notFound();

  const db = await getDb();
  const { plans, llm } = getConfig();
  const limits = plans[user.plan];

  const [chat, chats, snapshot] = await Promise.all([
    chatId ? findChatByIdForUser(db, { chatId, userId: user.id }) : undefined,
    listChatsByUser(db, { userId: user.id }),
    getCounterStore().peek({ userId: user.id, now: new Date() }),
  ]);
  if (chatId && !chat) notFound();
  const messages = chat ? await listMessagesByChat(db, { chatId: chat.id }) : [];

  const budget: Budget = {
    tokensPerDay: limits.tokensPerDay,
    tokensToday: snapshot.tokensToday,
    requestsPerDay: limits.requestsPerDay,
    requestsToday: snapshot.requestsToday,
    dayResetAt: snapshot.dayResetAt.toISOString(),
  };
  const initial = {
    chatId: chat?.id ?? null,
    chats: chats.map(({ id, title }) => ({ id, title })),
    messages: messages.map(({ id, role, content }): ChatMessageView => ({ id, role, content })),
  };

  return (
    <ChatWorkspace
      initial={initial}
      budget={budget}
      models={modelsForPlan(user.plan, llm.model)}
      demo={llm.kind === "demo"}
    />
  );
}
