import { NextResponse } from "next/server";
import type { z } from "zod";
import { getConfig } from "@/lib/config";
import { ApiError, errorResponse } from "@/lib/errors";
import { logger } from "@/lib/log";

// Requests with bodies larger than this are rejected before parsing.
const MAX_BODY_BYTES = 256 * 1024;

type Handler<Context> = (request: Request, context: Context) => Promise<Response>;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function isSameOrigin(origin: string, request: Request): boolean {
  if (origin === getConfig().appUrl.origin) return true;
  // The app may also be reached under another name than APP_URL (127.0.0.1 for localhost, say).
  // A page on another site cannot make the browser send this server's own Host with its Origin.
  const host = request.headers.get("host");
  try {
    return host !== null && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Rejects a state-changing request (any method but GET, HEAD and OPTIONS) that a browser sent from
 * another site, with 403 INVALID_ORIGIN. SameSite=Lax cookies already stay off cross-site POSTs
 * from other sites, but not from a sibling subdomain, which counts as the same site.
 *
 * Browsers send `Origin` on every such request. Without it, `Sec-Fetch-Site` decides. A request
 * with neither comes from a program rather than a browser: it carries only the cookies its
 * author gave it, so it cannot be a forged request riding on a user's session, and it passes.
 */
export function assertSameOrigin(request: Request): void {
  if (SAFE_METHODS.has(request.method)) return;

  const origin = request.headers.get("origin");
  if (origin !== null) {
    if (!isSameOrigin(origin, request)) throw new ApiError("INVALID_ORIGIN");
    return;
  }

  const fetchSite = request.headers.get("sec-fetch-site");
  if (fetchSite !== null && fetchSite !== "same-origin" && fetchSite !== "none") throw new ApiError("INVALID_ORIGIN");
}

/**
 * Wraps a route handler. State-changing requests from another site are rejected first (see
 * assertSameOrigin). An ApiError becomes its contract response, and anything else is logged and
 * becomes a 500 that reveals nothing.
 */
export function withErrorHandling<Context = unknown>(handler: Handler<Context>): Handler<Context> {
  return async (request, context) => {
    try {
      assertSameOrigin(request);
      return await handler(request, context);
    } catch (error) {
      if (error instanceof ApiError) return errorResponse(error);
      logger.error("unhandled error in route handler", { method: request.method, path: new URL(request.url).pathname, error });
      return errorResponse(new ApiError("INTERNAL_ERROR"));
    }
  };
}

/** Reads a JSON body and validates it, or throws 400 INVALID_INPUT naming the first bad field. */
export async function parseJsonBody<Schema extends z.ZodType>(request: Request, schema: Schema): Promise<z.infer<Schema>> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().includes("application/json")) {
    throw new ApiError("INVALID_INPUT", "Send the request body as JSON with Content-Type: application/json.");
  }

  const text = await request.text();
  if (new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    throw new ApiError("INVALID_INPUT", `The request body is larger than ${MAX_BODY_BYTES / 1024} KiB.`);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError("INVALID_INPUT", "The request body is not valid JSON.");
  }

  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join(".") : "body";
    throw new ApiError("INVALID_INPUT", `Invalid ${field}: ${issue.message}.`);
  }
  return result.data;
}

export function newRequestId(): string {
  return `req_${crypto.randomUUID().replaceAll("-", "")}`;
}

export function jsonResponse(body: unknown, init?: ResponseInit): NextResponse {
  return NextResponse.json(body, init);
}
