import { and, asc, desc, eq } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { chats, messages } from "@/lib/db/schema";

export type Chat = typeof chats.$inferSelect;
export type Message = typeof messages.$inferSelect;

const TITLE_LENGTH = 60;

export function titleFromMessage(message: string): string {
  const oneLine = message.replace(/\s+/g, " ").trim();
  return oneLine.length > TITLE_LENGTH ? `${oneLine.slice(0, TITLE_LENGTH - 3)}...` : oneLine;
}

/** Returns a user's chat, or undefined when it does not exist or belongs to someone else. */
export async function findChatByIdForUser(db: Database, { chatId, userId }: { chatId: string; userId: string }) {
  const [chat] = await db
    .select()
    .from(chats)
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
    .limit(1);
  return chat;
}

export function listChatsByUser(db: Database, { userId, limit = 50 }: { userId: string; limit?: number }) {
  return db
    .select({ id: chats.id, title: chats.title, updatedAt: chats.updatedAt })
    .from(chats)
    .where(eq(chats.userId, userId))
    .orderBy(desc(chats.updatedAt))
    .limit(limit);
}

export function listMessagesByChat(db: Database, { chatId }: { chatId: string }) {
  return db
    .select({ id: messages.id, role: messages.role, content: messages.content, createdAt: messages.createdAt })
    .from(messages)
    .where(eq(messages.chatId, chatId))
    .orderBy(asc(messages.createdAt), asc(messages.id));
}

export async function insertChat(db: Database, { userId, title }: { userId: string; title: string }): Promise<Chat> {
  const [chat] = await db.insert(chats).values({ userId, title }).returning();
  return chat!;
}

export async function insertMessage(
  db: Database,
  { chatId, role, content }: { chatId: string; role: "user" | "assistant"; content: string },
): Promise<void> {
  await db.insert(messages).values({ chatId, role, content });
  await db.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
}
