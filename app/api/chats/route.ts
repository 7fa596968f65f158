import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { listChatsByUser, searchChatsByUser } from "@/lib/chat/conversations";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const MAX_QUERY_CHARACTERS = 200;

/** Lists the user's 50 most recent chats, or with `?q=` those whose title or messages contain it. */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const query = (new URL(request.url).searchParams.get("q") ?? "").trim();
  if (query.length > MAX_QUERY_CHARACTERS) {
    throw new ApiError("INVALID_INPUT", `Invalid q: a search may have at most ${MAX_QUERY_CHARACTERS} characters.`);
  }

  const chats = query
    ? await searchChatsByUser(db, { userId: user.id, query })
    : await listChatsByUser(db, { userId: user.id });
  return NextResponse.json({ chats: chats.map(({ id, title, updatedAt }) => ({ id, title, updatedAt: updatedAt.toISOString() })) });
});
