import { NextResponse } from "next/server";
import { requireUser } from "@/lib/auth/session";
import { toPublicUser } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";
import { getCounterStore } from "@/lib/limits/gate";
import { modelsForPlan } from "@/lib/llm/models";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

/** The signed-in user, their plan's limits and today's counters (reservations in flight included). */
export const GET = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  const { plans, llm } = getConfig();
  const snapshot = await getCounterStore().peek({ userId: user.id, now: new Date() });

  return NextResponse.json({
    user: toPublicUser(user),
    limits: plans[user.plan],
    usage: {
      requestsThisMinute: snapshot.requestsThisMinute,
      requestsToday: snapshot.requestsToday,
      tokensToday: snapshot.tokensToday,
      minuteResetAt: snapshot.minuteResetAt?.toISOString() ?? null,
      dayResetAt: snapshot.dayResetAt.toISOString(),
    },
    models: modelsForPlan(user.plan, llm.model),
    demo: llm.kind === "demo",
  });
});
