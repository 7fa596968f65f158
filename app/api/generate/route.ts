import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { newRequestId, parseJsonBody, withErrorHandling } from "@/lib/http";
import { generateInputSchema, runGenerateTask } from "@/lib/llm/generate";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Runs one writing task ("improve", "summarize" or "shorten") and returns the text with its usage. */
export const POST = withErrorHandling(async (request) => {
  const requestId = newRequestId();
  const db = await getDb();
  const user = await requireUser(db, request);
  const input = await parseJsonBody(request, generateInputSchema);

  try {
    const { text, usage, headers } = await runGenerateTask({ user, ...input, requestId, signal: request.signal });
    return NextResponse.json({ text, usage }, { headers });
  } catch (error) {
    // The request id goes on errors too, so a failure can be found in the logs.
    if (error instanceof ApiError) error.headers["X-Request-Id"] = requestId;
    throw error;
  }
});
