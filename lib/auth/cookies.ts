import type { NextResponse } from "next/server";
import { getConfig } from "@/lib/config";
import { REFRESH_TOKEN_TTL_SECONDS } from "@/lib/auth/tokens";

export const ACCESS_COOKIE = "accessToken";
export const REFRESH_COOKIE = "refreshToken";
// The refresh token is sent only to the auth routes, never with chat or page requests.
const REFRESH_COOKIE_PATH = "/api/auth";

// SameSite=Lax, not Strict: a Strict cookie is withheld on the first request after a link from
// another site or an OAuth provider's redirect, which would show a signed-in user as signed out.
// Lax still withholds both cookies from cross-site POSTs.
function baseAttributes() {
  const { appUrl } = getConfig();
  const plainHttpLocalhost =
    appUrl.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(appUrl.hostname);
  return { httpOnly: true, secure: !plainHttpLocalhost, sameSite: "lax" as const };
}

export type TokenPair = { accessToken: string; refreshToken: string };

export function setSessionCookies(response: NextResponse, tokens: TokenPair): void {
  const attributes = baseAttributes();
  // The access token itself expires after 15 minutes, but its cookie lives as long as the
  // refresh token: an expired access token tells middleware that a session may be refreshed.
  response.cookies.set(ACCESS_COOKIE, tokens.accessToken, { ...attributes, path: "/", maxAge: REFRESH_TOKEN_TTL_SECONDS });
  response.cookies.set(REFRESH_COOKIE, tokens.refreshToken, {
    ...attributes,
    path: REFRESH_COOKIE_PATH,
    maxAge: REFRESH_TOKEN_TTL_SECONDS,
  });
}

export function clearSessionCookies(response: NextResponse): void {
  const attributes = baseAttributes();
  response.cookies.set(ACCESS_COOKIE, "", { ...attributes, path: "/", maxAge: 0 });
  response.cookies.set(REFRESH_COOKIE, "", { ...attributes, path: REFRESH_COOKIE_PATH, maxAge: 0 });
}

// Path to open after a Google sign-in. The cookie is set when the sign-in starts, then read and
// cleared when Google sends the person back. Only Tollgate's Google routes under /api/oauth see it.
const OAUTH_NEXT_COOKIE = "oauthNext";
const OAUTH_NEXT_PATH = "/api/oauth";
const OAUTH_NEXT_SECONDS = 15 * 60;

export function setOAuthNextCookie(response: NextResponse, nextPath: string): void {
  response.cookies.set(OAUTH_NEXT_COOKIE, nextPath, { ...baseAttributes(), path: OAUTH_NEXT_PATH, maxAge: OAUTH_NEXT_SECONDS });
}

export function readOAuthNextCookie(request: Request): string | undefined {
  return readCookie(request, OAUTH_NEXT_COOKIE);
}

export function clearOAuthNextCookie(response: NextResponse): void {
  response.cookies.set(OAUTH_NEXT_COOKIE, "", { ...baseAttributes(), path: OAUTH_NEXT_PATH, maxAge: 0 });
}

/** Reads one cookie from a request's Cookie header. */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const separator = part.indexOf("=");
    if (separator === -1) continue;
    if (part.slice(0, separator).trim() === name) {
      const value = part.slice(separator + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return undefined;
}
