import { NextResponse } from "next/server";
import { clearSessionCookies, readCookie, REFRESH_COOKIE } from "@/lib/auth/cookies";
import { endSession } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

/** Ends this browser's session: its refresh-token family is revoked and both cookies cleared. */
export const POST = withErrorHandling(async (request) => {
  const db = await getDb();
  await endSession(db, { refreshToken: readCookie(request, REFRESH_COOKIE) });
  const response = new NextResponse(null, { status: 204 });
  clearSessionCookies(response);
  return response;
});
