import { NextResponse } from "next/server";
import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { withErrorHandling } from "@/lib/http";
import { getUsageSummary, parseRecentPosition } from "@/lib/usage/queries";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const daysSchema = z.coerce.number().int().min(1).max(90).default(30);
const limitSchema = z.coerce.number().int().min(1).max(100).default(20);

/**
 * Returns the signed-in user's usage: today, per day, per feature, per model, and one page of recent
 * requests. `?before=` and `?after=` take the cursors in `recentPage` to move to older or newer
 * requests, and `?limit=` sets the page size (1 to 100, default 20).
 */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const params = new URL(request.url).searchParams;

  const days = daysSchema.safeParse(params.get("days") ?? undefined);
  if (!days.success) throw new ApiError("INVALID_INPUT", "Invalid days: use a whole number from 1 to 90.");
  const limit = limitSchema.safeParse(params.get("limit") ?? undefined);
  if (!limit.success) throw new ApiError("INVALID_INPUT", "Invalid limit: use a whole number from 1 to 100.");
  const position = parseRecentPosition({ before: params.get("before"), after: params.get("after") });
  if (position && "error" in position) throw new ApiError("INVALID_INPUT", position.error);

  return NextResponse.json(await getUsageSummary(db, { userId: user.id, days: days.data, recentLimit: limit.data, position }));
});
