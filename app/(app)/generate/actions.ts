"use server";

import { cookies } from "next/headers";
import { ACCESS_COOKIE } from "@/lib/auth/cookies";
import { authenticateAccessToken } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ApiError, type ErrorCode } from "@/lib/errors";
import { newRequestId } from "@/lib/http";
import { logger } from "@/lib/log";
import { generateInputSchema, runGenerateTask, type GenerateResult } from "@/lib/llm/generate";

export type GenerateActionResult =
  | { ok: true; text: string; usage: GenerateResult["usage"]; requestId: string }
  | { ok: false; code: ErrorCode; error: string; retryAfterSeconds: number | null; requestId: string };

/**
 * Runs a writing task for the signed-in user. Like a route handler, it verifies the access
 * token and loads the user itself: a server action can be called directly, without any page.
 */
export async function generateText(input: { prompt: string; task: string }): Promise<GenerateActionResult> {
  const requestId = newRequestId();
  try {
    const db = await getDb();
    const user = await authenticateAccessToken(db, (await cookies()).get(ACCESS_COOKIE)?.value);

    const parsed = generateInputSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ApiError("INVALID_INPUT", `Invalid ${issue.path.join(".") || "input"}: ${issue.message}.`);
    }

    const { text, usage } = await runGenerateTask({ user, ...parsed.data, requestId });
    return { ok: true, text, usage, requestId };
  } catch (error) {
    if (error instanceof ApiError) {
      const retryAfter = error.headers["Retry-After"];
      return { ok: false, code: error.code, error: error.message, retryAfterSeconds: retryAfter ? Number(retryAfter) : null, requestId };
    }
    logger.error("writing task failed", { requestId, error });
    return { ok: false, code: "INTERNAL_ERROR", error: new ApiError("INTERNAL_ERROR").message, retryAfterSeconds: null, requestId };
  }
}
