import { NextResponse } from "next/server";
import { ACCESS_COOKIE, clearSessionCookies, readCookie, REFRESH_COOKIE } from "@/lib/auth/cookies";
import { endSession } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

/**
 * Ends this browser's session: its refresh-token family is revoked, so its access token is
 * refused at once too, and both cookies are cleared.
 */
export const POST = withErrorHandling(async (request) => {
  const db = await getDb();
  await endSession(db, {
    refreshToken: readCookie(request, REFRESH_COOKIE),
    accessToken: readCookie(request, ACCESS_COOKIE),
  });
  const response = new NextResponse(null, { status: 204 });
  clearSessionCookies(response);
  return response;
});
