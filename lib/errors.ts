/**
 * Every error code of the HTTP contract, with its status and the sentence a person sees.
 * Route handlers throw `ApiError`; `errorResponse` turns it into `{ error, code }` JSON.
 */
export const ERRORS = {
  INVALID_INPUT: { status: 400, message: "The request is invalid." },
  EMAIL_TAKEN: { status: 409, message: "An account with this email already exists. Sign in instead." },
  INVALID_CREDENTIALS: { status: 401, message: "The email or password is incorrect." },
  TOO_MANY_ATTEMPTS: { status: 429, message: "Too many attempts. Wait a moment and try again." },
  AUTH_REQUIRED: { status: 401, message: "Sign in to continue." },
  TOKEN_EXPIRED: { status: 401, message: "Your session has expired. Refresh it or sign in again." },
  TOKEN_INVALID: { status: 401, message: "Your session is not valid. Sign in again." },
  REFRESH_INVALID: { status: 401, message: "Your session is not valid. Sign in again." },
  REFRESH_EXPIRED: { status: 401, message: "Your session has expired. Sign in again." },
  REFRESH_REUSED: { status: 401, message: "This session was ended for your safety. Sign in again." },
  FORBIDDEN: { status: 403, message: "You do not have access to this." },
  INVALID_ORIGIN: { status: 403, message: "This request came from another site, so it was rejected. Reload Tollgate and try again." },
  NOT_FOUND: { status: 404, message: "Not found." },
  ONLY_SIGN_IN_METHOD: {
    status: 409,
    message: "Google is the only way to sign in to this account, so it cannot be unlinked.",
  },
  PROMPT_TOO_LONG: { status: 413, message: "The message is too long for your plan. Shorten it and try again." },
  RATE_LIMITED: { status: 429, message: "Too many requests this minute. Wait and try again." },
  DAILY_REQUEST_LIMIT: { status: 429, message: "You have used all of today's requests on your plan." },
  DAILY_TOKEN_LIMIT: { status: 429, message: "You have used all of today's tokens on your plan." },
  UPSTREAM_ERROR: { status: 502, message: "The model failed to answer. Try again." },
  SPEND_CAP_REACHED: { status: 503, message: "The app has reached its spending cap for today. Try again tomorrow." },
  LIMITS_UNAVAILABLE: { status: 503, message: "Usage limits cannot be checked right now, so no request was made. Try again shortly." },
  INTERNAL_ERROR: { status: 500, message: "Something went wrong on our side. Try again." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}

/** Builds the JSON error response for a code, with the contract's `{ error, code }` body. */
export function errorResponse(error: ApiError): Response {
  return Response.json({ error: error.message, code: error.code }, { status: error.status, headers: error.headers });
}
