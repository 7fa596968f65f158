import type { GoogleRejection } from "@/lib/auth/google-accounts";
import type { GoogleFailure } from "@/lib/auth/google";

/** Code of an unexpected error on Tollgate's side (the database, for example) during a Google sign-in. */
export const GOOGLE_SIGN_IN_ERROR = "GOOGLE_SIGN_IN_ERROR";

export type GoogleErrorCode = GoogleFailure | GoogleRejection | typeof GOOGLE_SIGN_IN_ERROR;

/**
 * Messages the sign-in and account pages show for `?error=CODE` after a Google sign-in: what
 * happened, and what to do next.
 */
export const GOOGLE_ERRORS: Record<GoogleErrorCode, string> = {
  GOOGLE_DENIED: "Google sign-in was cancelled, so you are not signed in. To try again, choose Continue with Google.",
  GOOGLE_CHECK_FAILED:
    "The Google sign-in could not be verified: it took too long, or it was started in another browser or tab. Choose Continue with Google to start again.",
  GOOGLE_FAILED: "Google did not complete the sign-in. Choose Continue with Google to try again.",
  GOOGLE_UNAVAILABLE:
    "Google could not be reached, so you are not signed in. Try again in a few minutes, or sign in with your email and password.",
  GOOGLE_EMAIL_UNVERIFIED:
    "Google has not verified the email address of that account, so it cannot be used to sign in. Verify the address with Google and try again, or create an account with email and password.",
  GOOGLE_EMAIL_TAKEN:
    "A Tollgate account with this email address already exists. Sign in with its password, then link Google on the Account page. If you created it with another Google account, continue with that one.",
  GOOGLE_LINKED_ELSEWHERE:
    "That Google account is already linked to another Tollgate account. Sign out and continue with Google to use that account.",
  GOOGLE_SIGN_IN_ERROR: "Something went wrong on our side while signing you in with Google. Try again in a moment.",
};

/** Returns the message for an `?error=` value, or null when the value is not a known code. */
export function describeGoogleError(code: string | string[] | undefined): string | null {
  if (typeof code !== "string" || !Object.hasOwn(GOOGLE_ERRORS, code)) return null;
  return GOOGLE_ERRORS[code as GoogleErrorCode];
}

/**
 * Returns the page that explains a failed Google sign-in: the account page when the person was
 * linking Google to their signed-in account, otherwise the sign-in page, which keeps `next`.
 */
export function googleErrorPath(code: GoogleErrorCode, { linking, nextPath }: { linking: boolean; nextPath: string }): string {
  const params = new URLSearchParams({ error: code });
  if (linking) return `/account?${params}`;
  if (nextPath !== "/chat") params.set("next", nextPath);
  return `/sign-in?${params}`;
}
