import { NextResponse } from "next/server";
import { clearSessionCookies } from "@/lib/auth/cookies";
import { requireUser, revokeAllSessions } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

/** Ends every session of the user: access tokens stop working at once, refresh tokens are revoked. */
export const POST = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  await revokeAllSessions(db, { userId: user.id });
  const response = new NextResponse(null, { status: 204 });
  clearSessionCookies(response);
  return response;
});
