import { safeNextPath } from "@/lib/client/next-path";

/** The JSON error body of every API route: a sentence for a person and a stable code. */
export type ApiErrorBody = { error: string; code: string };

// One refresh at a time for the whole tab. A refresh rotates the refresh token, so two refreshes
// racing each other would present the same token twice, which the server treats as reuse.
let refreshInFlight: Promise<boolean> | null = null;

function refreshSession(): Promise<boolean> {
  refreshInFlight ??= fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" })
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
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
 * the session once and sends the request again. Concurrent callers share one refresh. When the
 * refresh fails, the browser goes to sign-in and the 401 response is returned to the caller.
 *
 * The body must be replayable (a string, FormData, Blob or similar), because it is sent twice;
 * a ReadableStream body is sent once and never retried.
 */
export async function apiFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const request: RequestInit = { credentials: "same-origin", ...init };
  const response = await fetch(input, request);

  if ((await readErrorCode(response)) !== "TOKEN_EXPIRED") return response;
  if (init.body instanceof ReadableStream) return response;

  const refreshed = await refreshSession();
  if (!refreshed) {
    redirectToSignIn();
    return response;
  }
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
