import { NextResponse } from "next/server";
import { setOAuthNextCookie } from "@/lib/auth/cookies";
import { GoogleSignInError, googleNotConfiguredResponse, startGoogleSignIn } from "@/lib/auth/google";
import { GOOGLE_SIGN_IN_ERROR, googleErrorPath } from "@/lib/auth/google-errors";
import { safeNextPath } from "@/lib/client/next-path";
import { getConfig } from "@/lib/config";
import { logger } from "@/lib/log";

export const runtime = "nodejs";

/**
 * GET /api/oauth/google?next=/chat: the "Continue with Google" link. Sends the browser to Google
 * with a fresh state and PKCE verifier. The account page links here with next=/account to link
 * Google to the signed-in account.
 *
 * It is a link rather than a form because the Content-Security-Policy's form-action allows only
 * this site, and Chrome blocks a form submission whose response redirects to Google.
 */
export async function GET(request: Request) {
  const { appUrl, google } = getConfig();
  if (!google) return googleNotConfiguredResponse();

  const nextPath = safeNextPath(new URL(request.url).searchParams.get("next"));
  const linking = nextPath === "/account";

  // A page on another site could send people here to sign them in without their consent.
  // Browsers mark such navigations, and those go to the sign-in page, which has the button.
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") {
    return NextResponse.redirect(new URL(linking ? "/account" : "/sign-in", appUrl), 303);
  }

  try {
    const { location, cookies } = await startGoogleSignIn(google, appUrl, { cookie: request.headers.get("cookie") });
    const response = NextResponse.redirect(location, 303);
    for (const cookie of cookies) response.cookies.set(cookie.name, cookie.value, cookie.options);
    setOAuthNextCookie(response, nextPath);
    return response;
  } catch (error) {
    const code = error instanceof GoogleSignInError ? error.code : GOOGLE_SIGN_IN_ERROR;
    logger.warn("google sign-in failed to start", { code, error: error instanceof GoogleSignInError ? error.cause : error });
    return NextResponse.redirect(new URL(googleErrorPath(code, { linking, nextPath }), appUrl), 303);
  }
}
