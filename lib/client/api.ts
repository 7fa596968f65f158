import { safeNextPath } from "@/lib/client/next-path";

/** The JSON error body of every API route: a sentence for a person and a stable code. */
export type ApiErrorBody = { error: string; code: string };

// The Web Locks API lock that every tab of this origin takes to refresh, so one refresh runs at a
// time across tabs. A refresh rotates the refresh token. Without the lock, tabs would present the
// same token at once, which the server accepts only within its short grace window.
const REFRESH_LOCK = "tollgate:refresh-session";
// localStorage key holding the time (ms since the epoch) of the last successful refresh in any tab.
const LAST_REFRESH_KEY = "tollgate:last-refresh-at";

// One refresh at a time within this tab, also where the Web Locks API is missing (plain-HTTP
// origins other than localhost): concurrent callers share the promise.
let refreshInFlight: Promise<RefreshOutcome> | null = null;

/** "rejected": the server refused the refresh token, so only signing in again helps. */
type RefreshOutcome = "refreshed" | "rejected" | "failed";

function readLastRefreshAt(): number {
  try {
    return Number(window.localStorage.getItem(LAST_REFRESH_KEY)) || 0;
  } catch {
    // Storage may be blocked; then no tab can learn of another's refresh, and each refreshes itself.
    return 0;
  }
}

function recordRefresh(): void {
  try {
    window.localStorage.setItem(LAST_REFRESH_KEY, String(Date.now()));
  } catch {
    // See readLastRefreshAt.
  }
}

async function postRefresh(): Promise<RefreshOutcome> {
  try {
    const response = await fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
    if (response.ok) {
      recordRefresh();
      return "refreshed";
    }
    return response.status === 401 ? "rejected" : "failed";
  } catch {
    return "failed";
  }
}

/**
 * Makes sure the cookies hold a session newer than a request sent at `requestSentAt`. Inside the
 * cross-tab lock, a tab first checks whether another tab refreshed after that request left: the
 * cookies are shared, so it only has to send its request again.
 */
async function refreshUnlessRefreshedSince(requestSentAt: number): Promise<RefreshOutcome> {
  const refreshUnderLock = async (): Promise<RefreshOutcome> => {
    if (readLastRefreshAt() > requestSentAt) return "refreshed";
    return postRefresh();
  };
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request(REFRESH_LOCK, refreshUnderLock);
  }
  return refreshUnderLock();
}

function refreshSession(requestSentAt: number): Promise<RefreshOutcome> {
  refreshInFlight ??= refreshUnlessRefreshedSince(requestSentAt).finally(() => {
    refreshInFlight = null;
  });
  return refreshInFlight;
}

async function readErrorCode(response: Response): Promise<string | null> {
  if (response.status !== 401) return null;
  try {
    const body = (await response.clone().json()) as Partial<ApiErrorBody>;
    return typeof body.code === "string" ? body.code : null;
  } catch {
    return null;
  }
}

function redirectToSignIn(): void {
  const currentPath = safeNextPath(`${window.location.pathname}${window.location.search}`);
  window.location.assign(`/sign-in?next=${encodeURIComponent(currentPath)}`);
}

/**
 * Fetches like `fetch`, but when the access token has expired (401 TOKEN_EXPIRED) it refreshes
 * the session once and sends the request again. Concurrent callers share one refresh, across
 * tabs too. When the server rejects the refresh, the browser goes to sign-in; when the refresh
 * cannot be sent (offline), the page stays. Either way the 401 response is returned to the caller.
 *
 * The body must be replayable (a string, FormData, Blob or similar), because it is sent twice;
 * a ReadableStream body is sent once and never retried.
 */
export async function apiFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const request: RequestInit = { credentials: "same-origin", ...init };
  const sentAt = Date.now();
  const response = await fetch(input, request);

  if ((await readErrorCode(response)) !== "TOKEN_EXPIRED") return response;
  if (init.body instanceof ReadableStream) return response;

  const outcome = await refreshSession(sentAt);
  if (outcome === "rejected") redirectToSignIn();
  if (outcome !== "refreshed") return response;
  return fetch(input, request);
}

/** Reads the `error` sentence of a JSON error response, or a generic one naming the status. */
export async function readErrorMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as Partial<ApiErrorBody>;
    if (typeof body.error === "string" && body.error) return body.error;
  } catch {
    // Not JSON: a proxy error page or an empty body.
  }
  return `The request failed with status ${response.status}. Try again.`;
}

/** Sends a JSON body with `apiFetch`. */
export function postJson(input: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return apiFetch(input, {
    method: "POST",
    ...init,
    headers: { "Content-Type": "application/json", ...init.headers },
    body: JSON.stringify(body),
  });
}
