import { z } from "zod";
import { findChatByIdForUser } from "@/lib/chat/conversations";
import type { Database } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";

const chatIdSchema = z.uuid();

/**
 * Returns a user's chat for a route's `chatId` parameter, or throws 404 NOT_FOUND. A malformed
 * id gets the same 404 as another user's chat, so the response does not tell them apart.
 */
export async function requireOwnedChat(db: Database, { chatId, userId }: { chatId: string; userId: string }) {
  // Checked before querying: PostgreSQL rejects a malformed uuid with an error, not an empty result.
  if (!chatIdSchema.safeParse(chatId).success) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  const chat = await findChatByIdForUser(db, { chatId, userId });
  if (!chat) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  return chat;
}
