import { NextResponse } from "next/server";
import { ACCESS_COOKIE, clearOAuthNextCookie, readCookie, readOAuthNextCookie, setSessionCookies } from "@/lib/auth/cookies";
import { finishGoogleSignIn, GoogleSignInError, googleNotConfiguredResponse } from "@/lib/auth/google";
import { resolveGoogleAccount } from "@/lib/auth/google-accounts";
import { GOOGLE_SIGN_IN_ERROR, googleErrorPath, type GoogleErrorCode } from "@/lib/auth/google-errors";
import { createSession, findSession } from "@/lib/auth/session";
import type { User } from "@/lib/auth/users";
import { safeNextPath } from "@/lib/client/next-path";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { logger } from "@/lib/log";

export const runtime = "nodejs";

/**
 * GET /api/oauth/callback/google: the redirect URI where Google sends the person back. Auth.js
 * checks the response, then Tollgate finds, creates or links the user by the rule in
 * lib/auth/google-accounts.ts and signs them in with its own cookies. Every failure ends on a page
 * that explains it, and none leaves a user half-created.
 */
export async function GET(request: Request) {
  const { appUrl, google, adminEmails } = getConfig();
  if (!google) return googleNotConfiguredResponse();

  const nextPath = safeNextPath(readOAuthNextCookie(request));
  let signedInUser: User | null = null;
  let target: string;
  let authCookies: Awaited<ReturnType<typeof finishGoogleSignIn>>["cookies"] = [];
  let tokens: Awaited<ReturnType<typeof createSession>> | null = null;

  try {
    const db = await getDb();
    // A stale or revoked session counts as none.
    signedInUser = (await findSession(db, readCookie(request, ACCESS_COOKIE)))?.user ?? null;
    const finished = await finishGoogleSignIn(google, appUrl, request);
    authCookies = finished.cookies;
    const outcome = await resolveGoogleAccount(db, finished.identity, { signedInUser, adminEmails });

    if (!outcome.ok) {
      logger.info("google sign-in rejected", { code: outcome.code, userId: signedInUser?.id });
      target = googleErrorPath(outcome.code, { linking: signedInUser !== null, nextPath });
    } else if (signedInUser) {
      // Linking from the account page keeps the session in this browser as it was.
      logger.info("google account linked", { userId: outcome.user.id, linked: outcome.linked });
      target = "/account?linked=google";
    } else {
      tokens = await createSession(db, { user: outcome.user, userAgent: request.headers.get("user-agent") });
      logger.info("google sign-in", { userId: outcome.user.id, created: outcome.created });
      target = nextPath;
    }
  } catch (error) {
    const code: GoogleErrorCode = error instanceof GoogleSignInError ? error.code : GOOGLE_SIGN_IN_ERROR;
    // A person pressing Cancel is not a fault worth a warning.
    const log = code === "GOOGLE_DENIED" ? logger.info : logger.warn;
    log("google sign-in failed", { code, error: error instanceof GoogleSignInError ? error.cause : error });
    target = googleErrorPath(code, { linking: signedInUser !== null, nextPath });
  }

  // 303, so the next page is fetched with GET. The cookies set here are SameSite=Lax, so the
  // browser sends them on that request even though this redirect chain began on Google's site.
  const response = NextResponse.redirect(new URL(target, appUrl), 303);
  for (const cookie of authCookies) response.cookies.set(cookie.name, cookie.value, cookie.options);
  clearOAuthNextCookie(response);
  if (tokens) setSessionCookies(response, tokens);
  return response;
}
