import { NextResponse } from "next/server";
import type { z } from "zod";
import { ApiError, errorResponse } from "@/lib/errors";
import { logger } from "@/lib/log";

// Requests with bodies larger than this are rejected before parsing.
const MAX_BODY_BYTES = 256 * 1024;

type Handler<Context> = (request: Request, context: Context) => Promise<Response>;

/**
 * Wraps a route handler: an ApiError becomes its contract response, anything else is logged
 * and becomes a 500 that reveals nothing.
 */
export function withErrorHandling<Context = unknown>(handler: Handler<Context>): Handler<Context> {
  return async (request, context) => {
    try {
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
