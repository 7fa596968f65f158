import { and, asc, desc, eq, exists, ilike, inArray, or } from "drizzle-orm";
import { queryRows, sql, type Database } from "@/lib/db/client";
import { chats, messages } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";

export type Chat = typeof chats.$inferSelect;
export type Message = typeof messages.$inferSelect;

const TITLE_LENGTH = 60;

/**
 * Builds a chat's first title from its first message: one line, cut to 60 characters. A chat
 * whose title still equals this is treated as untitled, so a generated title may replace it.
 */
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

/**
 * Creates a chat with its first message, in one statement because every new conversation on the
 * chat route does it before calling the model. Returns the new chat's id.
 */
export async function insertChatWithMessage(
  db: Database,
  { userId, title, role, content }: { userId: string; title: string; role: "user" | "assistant"; content: string },
): Promise<string> {
  const [chat] = await queryRows<{ id: string }>(
    db,
    sql`with chat as (insert into chats (user_id, title) values (${userId}, ${title}) returning id),
             message as (insert into messages (chat_id, role, content) select id, ${role}, ${content} from chat)
        select id from chat`,
  );
  return chat!.id;
}

/** Adds a message to a chat and moves the chat to the top of the list, in one statement. */
export async function insertMessage(
  db: Database,
  { chatId, role, content }: { chatId: string; role: "user" | "assistant"; content: string },
): Promise<void> {
  await db.execute(
    sql`with message as (insert into messages (chat_id, role, content) values (${chatId}, ${role}, ${content}))
        update chats set updated_at = ${new Date().toISOString()} where id = ${chatId}`,
  );
}

/** Escapes LIKE wildcards, so that a search for "50%" or "a_b" matches those characters literally. */
function containsPattern(query: string): string {
  return `%${query.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/** Lists a user's chats whose title or any message contains `query`, ignoring case, most recent first. */
export function searchChatsByUser(db: Database, { userId, query, limit = 50 }: { userId: string; query: string; limit?: number }) {
  const pattern = containsPattern(query);
  const messageMatches = db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.chatId, chats.id), ilike(messages.content, pattern)));
  return db
    .select({ id: chats.id, title: chats.title, updatedAt: chats.updatedAt })
    .from(chats)
    .where(and(eq(chats.userId, userId), or(ilike(chats.title, pattern), exists(messageMatches))))
    .orderBy(desc(chats.updatedAt))
    .limit(limit);
}

/** Renames a user's chat. Returns the chat, or undefined when it does not exist or belongs to someone else. */
export async function renameChatForUser(db: Database, { chatId, userId, title }: { chatId: string; userId: string; title: string }) {
  const [chat] = await db
    .update(chats)
    .set({ title })
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
    .returning({ id: chats.id, title: chats.title });
  return chat;
}

/**
 * Deletes a user's chat and its messages. Its usage rows stay, with their chat id cleared, so
 * the day's spend does not change. Returns whether a chat was deleted.
 */
export async function deleteChatForUser(db: Database, { chatId, userId }: { chatId: string; userId: string }): Promise<boolean> {
  const deleted = await db
    .delete(chats)
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
    .returning({ id: chats.id });
  return deleted.length > 0;
}

/**
 * Sets a generated title, unless the title changed since `expectedTitle` was read (the user
 * renamed the chat meanwhile). Returns whether the title was set.
 */
export async function updateChatTitleIfUnchanged(
  db: Database,
  { chatId, userId, expectedTitle, title }: { chatId: string; userId: string; expectedTitle: string; title: string },
): Promise<boolean> {
  const updated = await db
    .update(chats)
    .set({ title })
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId), eq(chats.title, expectedTitle)))
    .returning({ id: chats.id });
  return updated.length > 0;
}

/**
 * Locks a user's chat row until the transaction ends, so that two replacements of the same
 * turn run one after the other. Throws NOT_FOUND when the chat is gone or belongs to someone else.
 */
async function lockChatForUser(db: Database, { chatId, userId }: { chatId: string; userId: string }) {
  const [chat] = await db
    .select({ id: chats.id, title: chats.title })
    .from(chats)
    .where(and(eq(chats.id, chatId), eq(chats.userId, userId)))
    .for("update");
  if (!chat) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  return chat;
}

/**
 * Replaces a user's last message in a chat, and the answers after it, with `content`. When that
 * message was the chat's first and the title was still made from it, the title follows the edit.
 * The last message is found inside the transaction, under the chat's row lock.
 */
export async function replaceLastQuestion(
  db: Database,
  { chatId, userId, content }: { chatId: string; userId: string; content: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const txDb = tx as unknown as Database;
    const chat = await lockChatForUser(txDb, { chatId, userId });
    const stored = await listMessagesByChat(txDb, { chatId });
    const lastQuestion = stored.findLastIndex((message) => message.role === "user");
    const replaced = lastQuestion === -1 ? [] : stored.slice(lastQuestion);

    if (replaced.length > 0) {
      await txDb.delete(messages).where(inArray(messages.id, replaced.map((message) => message.id)));
    }
    await txDb.insert(messages).values({ chatId, role: "user", content });

    const replacedFirst = lastQuestion !== -1 && stored.findIndex((message) => message.role === "user") === lastQuestion;
    const titleFollows = replacedFirst && chat.title === titleFromMessage(stored[lastQuestion]!.content);
    await txDb
      .update(chats)
      .set({ updatedAt: new Date(), ...(titleFollows ? { title: titleFromMessage(content) } : {}) })
      .where(eq(chats.id, chatId));
  });
}

/**
 * Replaces the answers to a user's last message in a chat with `content`, or adds the answer
 * when there was none (the previous call failed before any text arrived).
 */
export async function replaceLastAnswer(
  db: Database,
  { chatId, userId, content }: { chatId: string; userId: string; content: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const txDb = tx as unknown as Database;
    await lockChatForUser(txDb, { chatId, userId });
    const stored = await listMessagesByChat(txDb, { chatId });
    const lastQuestion = stored.findLastIndex((message) => message.role === "user");
    // Without a user message nothing counts as its answer, so nothing is deleted.
    const replaced = lastQuestion === -1 ? [] : stored.slice(lastQuestion + 1);

    if (replaced.length > 0) {
      await txDb.delete(messages).where(inArray(messages.id, replaced.map((message) => message.id)));
    }
    await txDb.insert(messages).values({ chatId, role: "assistant", content });
    await txDb.update(chats).set({ updatedAt: new Date() }).where(eq(chats.id, chatId));
  });
}
