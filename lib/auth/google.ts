import { Auth, raw, skipCSRFCheck, type AuthConfig } from "@auth/core";
import { AuthError, InvalidCheck } from "@auth/core/errors";
import type { Profile } from "@auth/core/types";
import Google from "next-auth/providers/google";
import type { GoogleIdentity } from "@/lib/auth/google-accounts";
import type { Config } from "@/lib/config";
import { ApiError, errorResponse } from "@/lib/errors";
import { logger } from "@/lib/log";

// Auth.js (next-auth v5, built on @auth/core) runs the OAuth exchange with Google: discovery,
// PKCE, state, the code-for-token call and the ID token's checks. It keeps no session: once it
// has read the ID token, Tollgate decides who the person is (lib/auth/google-accounts.ts) and
// signs them in with its own tokens and cookies.
//
// Tollgate calls Auth.js's core directly instead of next-auth's route handlers and `signIn`,
// because those build URLs from the request's Host header. Here every URL, the redirect URI
// included, comes from APP_URL. With `raw`, Auth.js also throws its errors, so each failure gets
// its own message on the sign-in page.

/** Path prefix of the Google sign-in routes, apart from Tollgate's own /api/auth/*. */
export const GOOGLE_BASE_PATH = "/api/oauth";

/** Returns the redirect URI to register with Google. */
export function googleRedirectUri(appUrl: URL): string {
  return new URL(`${GOOGLE_BASE_PATH}/callback/google`, appUrl).toString();
}

/** Returns the "Continue with Google" link, which returns to `nextPath` once signed in. */
export function googleStartPath(nextPath: string): string {
  return `${GOOGLE_BASE_PATH}/google${nextPath === "/chat" ? "" : `?next=${encodeURIComponent(nextPath)}`}`;
}

/** Returns the 404 that both Google routes give when Google sign-in is not configured. */
export function googleNotConfiguredResponse(): Response {
  return errorResponse(new ApiError("NOT_FOUND", "Google sign-in is not configured on this server."));
}

type GoogleConfig = NonNullable<Config["google"]>;

/** Reason a Google sign-in failed. Each has a message in lib/auth/google-errors.ts. */
export type GoogleFailure = "GOOGLE_DENIED" | "GOOGLE_CHECK_FAILED" | "GOOGLE_FAILED" | "GOOGLE_UNAVAILABLE";

export class GoogleSignInError extends Error {
  override name = "GoogleSignInError";

  constructor(
    readonly code: GoogleFailure,
    options?: { cause?: unknown },
  ) {
    super(`Google sign-in failed: ${code}`, options);
  }
}

/** Cookie that Auth.js sets, in the shape NextResponse.cookies.set accepts. */
export type AuthCookie = { name: string; value: string; options: Record<string, unknown> };

function authConfig(google: GoogleConfig, appUrl: URL, onIdentity: (identity: GoogleIdentity) => void = () => {}): AuthConfig {
  return {
    providers: [
      Google({ clientId: google.clientId, clientSecret: google.clientSecret, issuer: google.issuer, checks: ["pkce", "state"] }),
    ],
    basePath: GOOGLE_BASE_PATH,
    secret: google.authSecret,
    // URLs come from APP_URL (see requestOnAppUrl), never from a Host header a client chose.
    trustHost: true,
    useSecureCookies: appUrl.protocol === "https:",
    logger: {
      // Tollgate logs each failure once, with its code, where it handles it.
      error: (error) => logger.debug("auth.js error", { error }),
      warn: (code) => logger.debug("auth.js warning", { code }),
      debug: () => {},
    },
    callbacks: {
      signIn({ profile }) {
        onIdentity(readIdentity(profile));
        // A URL instead of `true`: Auth.js then redirects without creating its own session.
        return appUrl.origin;
      },
    },
  };
}

function readIdentity(profile: Profile | undefined): GoogleIdentity {
  const email = typeof profile?.email === "string" ? profile.email : "";
  // Google sends a boolean; some OpenID providers send the string "true".
  const claimed: unknown = profile?.email_verified;
  const verified = claimed === true || claimed === "true";
  return {
    subject: String(profile?.sub ?? ""),
    email,
    emailVerified: verified && email.includes("@"),
    name: typeof profile?.name === "string" && profile.name.trim() ? profile.name.trim() : null,
  };
}

/**
 * Classifies an Auth.js failure. `providerError` is the `error` parameter Google put on the
 * callback URL, if any; `access_denied` means the person pressed Cancel.
 */
function describeFailure(error: AuthError, providerError: string | null): GoogleFailure {
  if (providerError) return providerError === "access_denied" ? "GOOGLE_DENIED" : "GOOGLE_FAILED";
  // The state or PKCE cookie is missing, expired or unreadable (another browser, or too late).
  if (error instanceof InvalidCheck) return "GOOGLE_CHECK_FAILED";
  const inner = (error.cause as { err?: unknown } | undefined)?.err;
  if (isStateMismatch(inner)) return "GOOGLE_CHECK_FAILED";
  if (isProviderUnreachable(inner)) return "GOOGLE_UNAVAILABLE";
  return "GOOGLE_FAILED";
}

/** Checks for oauth4webapi's rejection of a callback whose `state` differs from this browser's. */
function isStateMismatch(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === "OAUTH_INVALID_RESPONSE" && error.message.includes('"state"');
}

/** Checks for a network failure (fetch's TypeError) or a provider response with a 5xx status. */
function isProviderUnreachable(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof Response && cause.status >= 500;
}

/** Runs one Auth.js action and turns any failure, thrown or returned as a page, into a GoogleSignInError. */
async function runAuth(request: Request, config: AuthConfig & { raw: typeof raw }) {
  let result;
  try {
    result = await Auth(request, config);
  } catch (error) {
    if (error instanceof AuthError) {
      const providerError = new URL(request.url).searchParams.get("error");
      throw new GoogleSignInError(describeFailure(error, providerError), { cause: error });
    }
    throw error;
  }
  // Errors that are not Auth.js's own (a network failure, say) come back as a redirect to an
  // error page rather than thrown.
  if (result instanceof Response) throw new GoogleSignInError("GOOGLE_UNAVAILABLE");
  return result;
}

/**
 * Starts a Google sign-in: returns the provider's authorization URL and the short-lived cookies
 * that hold the state and PKCE verifier until Google sends the person back.
 */
export async function startGoogleSignIn(
  google: GoogleConfig,
  appUrl: URL,
  { cookie }: { cookie: string | null },
): Promise<{ location: string; cookies: AuthCookie[] }> {
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
  if (cookie) headers.set("cookie", cookie);
  const request = new Request(new URL(`${GOOGLE_BASE_PATH}/signin/google`, appUrl), {
    method: "POST",
    headers,
    body: new URLSearchParams({ callbackUrl: appUrl.origin }),
  });
  // Auth.js's CSRF token protects its own sign-in form, which Tollgate does not serve. The start
  // route checks instead that the navigation came from Tollgate's own pages.
  const result = await runAuth(request, { ...authConfig(google, appUrl), raw, skipCSRFCheck });
  if (!result.redirect) throw new GoogleSignInError("GOOGLE_UNAVAILABLE");
  return { location: result.redirect, cookies: (result.cookies ?? []) as AuthCookie[] };
}

/**
 * Finishes a Google sign-in on the callback request: checks state and PKCE, exchanges the code,
 * verifies the ID token, and returns the identity it contains with the cookies that clear the
 * sign-in's state.
 */
export async function finishGoogleSignIn(
  google: GoogleConfig,
  appUrl: URL,
  request: Request,
): Promise<{ identity: GoogleIdentity; cookies: AuthCookie[] }> {
  let identity: GoogleIdentity | undefined;
  const config = authConfig(google, appUrl, (read) => {
    identity = read;
  });
  const result = await runAuth(requestOnAppUrl(request, appUrl), { ...config, raw });
  if (!identity?.subject) throw new GoogleSignInError("GOOGLE_FAILED");
  return { identity, cookies: (result.cookies ?? []) as AuthCookie[] };
}

/**
 * Returns the same request addressed to APP_URL. Behind a proxy, or when Next.js reports
 * `localhost` for 127.0.0.1, `request.url` has another host, and Google rejects a redirect URI
 * that differs from the one the sign-in started with.
 */
function requestOnAppUrl(request: Request, appUrl: URL): Request {
  const { pathname, search } = new URL(request.url);
  return new Request(new URL(`${pathname}${search}`, appUrl), { method: "GET", headers: request.headers });
}
