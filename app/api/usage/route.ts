import { NextResponse } from "next/server";
import { z } from "zod";
import { requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { withErrorHandling } from "@/lib/http";
import { getUsageSummary } from "@/lib/usage/queries";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const daysSchema = z.coerce.number().int().min(1).max(90).default(30);

/** The signed-in user's usage: today, per day, per feature, per model, and the latest requests. */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const days = daysSchema.safeParse(new URL(request.url).searchParams.get("days") ?? undefined);
  if (!days.success) throw new ApiError("INVALID_INPUT", "Invalid days: use a whole number from 1 to 90.");

  return NextResponse.json(await getUsageSummary(db, { userId: user.id, days: days.data }));
});
