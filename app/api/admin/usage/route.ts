import { NextResponse } from "next/server";
import { requireAdmin } from "@/lib/auth/admin";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";
import { readSpendCapStatus } from "@/lib/limits/gate";
import { flagUsers } from "@/lib/usage/flags";
import { getAppSpendToday, listUsersWithUsage } from "@/lib/usage/queries";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** Lists every user with spend and flags, and the whole app's spend today against its cap. Admins only. */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  await requireAdmin(db, request);
  const now = new Date();
  const [users, spendTodayUsd, spendCap] = await Promise.all([
    listUsersWithUsage(db, { now }),
    getAppSpendToday(db, { now }),
    readSpendCapStatus({ now }),
  ]);

  return NextResponse.json({
    users: flagUsers(users, getConfig().plans),
    app: { spendTodayUsd, spendCapUsd: spendCap.spendCapUsd, capReached: spendCap.capReached },
  });
});
