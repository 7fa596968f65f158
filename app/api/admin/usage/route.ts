import { NextResponse } from "next/server";
import { requireAdmin } from "@/lib/auth/admin";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { withErrorHandling } from "@/lib/http";
import { readSpendCapStatus } from "@/lib/limits/gate";
import { ADMIN_PAGE_SIZE, listAdminUsers, parseAdminListParams } from "@/lib/usage/admin-users";
import { getAppUsageSummary } from "@/lib/usage/queries";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/**
 * Returns the admin console's data: one page of users with spend and flags, flag counts, the whole app's
 * spend today against its cap, and this month's features and models by cost. Admins only.
 * Query: `q` (part of an email), `sort`, `dir`, `filter`, `page` (50 users a page).
 */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  await requireAdmin(db, request);
  const options = parseAdminListParams(new URL(request.url).searchParams);
  if ("error" in options) throw new ApiError("INVALID_INPUT", options.error);

  const now = new Date();
  const [list, summary, spendCap] = await Promise.all([
    listAdminUsers(db, { ...options, pageSize: ADMIN_PAGE_SIZE, now, plans: getConfig().plans }),
    getAppUsageSummary(db, { now }),
    readSpendCapStatus({ now }),
  ]);

  return NextResponse.json({
    users: list.users,
    page: list.page,
    counts: list.counts,
    app: {
      spendTodayUsd: summary.today.costUsd,
      spendCapUsd: spendCap.spendCapUsd,
      capReached: spendCap.capReached,
      requestsToday: summary.today.requests,
      activeUsersToday: summary.today.activeUsers,
      spendMonthUsd: summary.month.costUsd,
    },
    top: { month: summary.month.start, features: summary.topFeatures, models: summary.topModels },
  });
});
