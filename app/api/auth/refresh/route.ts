import { NextResponse } from "next/server";
import { clearSessionCookies, readCookie, REFRESH_COOKIE, setSessionCookies } from "@/lib/auth/cookies";
import { rotateRefreshToken } from "@/lib/auth/session";
import { toPublicUser } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError, errorResponse } from "@/lib/errors";
import { withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

/** Rotates the refresh token and returns the user with a new cookie pair. */
export const POST = withErrorHandling(async (request) => {
  const db = await getDb();
  try {
    const { user, tokens } = await rotateRefreshToken(db, {
      refreshToken: readCookie(request, REFRESH_COOKIE),
      userAgent: request.headers.get("user-agent"),
    });
    const response = NextResponse.json({ user: toPublicUser(user) });
    setSessionCookies(response, tokens);
    return response;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const response = errorResponse(error);
    const cleared = new NextResponse(response.body, response);
    clearSessionCookies(cleared);
    return cleared;
  }
});

// Only same-site paths may be redirect targets, so this route cannot send anyone elsewhere.
function safeNextPath(value: string | null): string {
  if (!value || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/chat";
  return value;
}

/**
 * Refreshes on a page load: middleware sends a page request with an expired access token here,
 * and this rotates once and redirects back, or to sign-in when the refresh token is not valid.
 * The redirect is built from APP_URL, because `request.url` may name another host.
 */
export const GET = withErrorHandling(async (request) => {
  const next = safeNextPath(new URL(request.url).searchParams.get("next"));
  const { appUrl } = getConfig();
  const db = await getDb();
  try {
    const { tokens } = await rotateRefreshToken(db, {
      refreshToken: readCookie(request, REFRESH_COOKIE),
      userAgent: request.headers.get("user-agent"),
    });
    const response = NextResponse.redirect(new URL(next, appUrl), 303);
    setSessionCookies(response, tokens);
    return response;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const signIn = new URL("/sign-in", appUrl);
    signIn.searchParams.set("next", next);
    const response = NextResponse.redirect(signIn, 303);
    clearSessionCookies(response);
    return response;
  }
});
