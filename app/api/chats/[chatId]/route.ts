import { NextResponse } from "next/server";
import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { requireOwnedChat } from "@/lib/chat/access";
import { deleteChatForUser, renameChatForUser } from "@/lib/chat/conversations";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { parseJsonBody, withErrorHandling } from "@/lib/http";
import { logger } from "@/lib/log";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const MAX_TITLE_CHARACTERS = 120;

const renameSchema = z
  .object({
    title: z
      .string({ message: "a title is required" })
      .transform((title) => title.replace(/\s+/g, " ").trim())
      .refine((title) => title.length > 0, { message: "the title is empty" })
      .refine((title) => title.length <= MAX_TITLE_CHARACTERS, { message: `a title may have at most ${MAX_TITLE_CHARACTERS} characters` }),
  })
  .strict();

type Context = { params: Promise<{ chatId: string }> };

/** Renames one of the user's chats. */
export const PATCH = withErrorHandling<Context>(async (request, { params }) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const { chatId } = await params;
  await requireOwnedChat(db, { chatId, userId: user.id });
  const { title } = await parseJsonBody(request, renameSchema);

  // The update repeats the owner check, so a chat deleted in the meantime is not found either.
  const chat = await renameChatForUser(db, { chatId, userId: user.id, title });
  if (!chat) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  return NextResponse.json({ chat });
});

/** Deletes one of the user's chats with its messages. Its usage rows stay, so spend is unchanged. */
export const DELETE = withErrorHandling<Context>(async (request, { params }) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const { chatId } = await params;
  await requireOwnedChat(db, { chatId, userId: user.id });

  if (!(await deleteChatForUser(db, { chatId, userId: user.id }))) throw new ApiError("NOT_FOUND", "That chat does not exist.");
  logger.info("chat deleted", { userId: user.id, chatId });
  return new Response(null, { status: 204 });
});
