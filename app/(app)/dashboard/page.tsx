import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { BreakdownTable } from "@/components/usage/breakdown-table";
import { DailyBars } from "@/components/usage/daily-bars";
import { LimitMeter } from "@/components/usage/limit-meter";
import { RecentRequestsTable } from "@/components/usage/recent-requests-table";
import { LocalTime } from "@/components/ui/local-time";
import { card, primaryButton } from "@/components/ui/styles";
import { getCurrentUser } from "@/lib/auth/current-user";
import { formatCount, formatUsd, formatWait } from "@/lib/client/format";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getCounterStore } from "@/lib/limits/gate";
import { getUsageSummary } from "@/lib/usage/queries";

export const metadata: Metadata = { title: "Usage" };

const HISTORY_DAYS = 30;

export default async function DashboardPage() {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");

  const db = await getDb();
  const now = new Date();
  const limits = getConfig().plans[user.plan];
  const [summary, counters] = await Promise.all([
    getUsageSummary(db, { userId: user.id, days: HISTORY_DAYS, now }),
    getCounterStore().peek({ userId: user.id, now }),
  ]);
  const secondsUntil = (date: Date) => (date.getTime() - now.getTime()) / 1000;

  const minuteReset = counters.minuteResetAt ? (
    <>
      Next request frees up in {formatWait(secondsUntil(counters.minuteResetAt))}, at{" "}
      <LocalTime iso={counters.minuteResetAt.toISOString()} format="time" />. The window slides.
    </>
  ) : (
    <>No requests in the last minute. The window slides.</>
  );
  const dayReset = (
    <>
      Resets in {formatWait(secondsUntil(counters.dayResetAt))}, at{" "}
      <LocalTime iso={counters.dayResetAt.toISOString()} format="date-time" /> (midnight UTC).
    </>
  );

  return (
    <main className="mx-auto w-full max-w-5xl space-y-6 px-4 py-6 sm:py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Usage</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Your <span className="font-medium capitalize">{user.plan}</span> plan&apos;s limits, and what your requests
          used and cost.
        </p>
      </div>

      <section aria-labelledby="today-heading" className={card}>
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h2 id="today-heading" className="text-base font-semibold">
            Today
          </h2>
          <p className="text-sm text-zinc-600 tabular-nums dark:text-zinc-400">
            {formatCount(summary.today.requests, "request")} · {formatCount(summary.today.tokens, "token")} ·{" "}
            {formatUsd(summary.today.costUsd)}
          </p>
        </div>
        <div className="mt-4 grid gap-6 md:grid-cols-3">
          <LimitMeter
            label="Requests this minute"
            used={counters.requestsThisMinute}
            limit={limits.requestsPerMinute}
            unit="requests"
            reset={minuteReset}
          />
          <LimitMeter
            label="Requests today"
            used={counters.requestsToday}
            limit={limits.requestsPerDay}
            unit="requests"
            reset={dayReset}
          />
          <LimitMeter
            label="Tokens today"
            used={counters.tokensToday}
            limit={limits.tokensPerDay}
            unit="tokens"
            reset={dayReset}
          />
        </div>
      </section>

      {summary.recent.length === 0 ? (
        <section className={`${card} py-10 text-center`}>
          <p className="text-zinc-700 dark:text-zinc-300">No requests yet. Start a chat to see usage here.</p>
          <Link href="/chat" className={`${primaryButton} mt-4`}>
            Start a chat
          </Link>
        </section>
      ) : (
        <>
          <div className="grid gap-6 lg:grid-cols-[3fr_2fr]">
            <section aria-labelledby="daily-heading" className={card}>
              <h2 id="daily-heading" className="mb-3 text-base font-semibold">
                Tokens per day, last {HISTORY_DAYS} days (UTC)
              </h2>
              <DailyBars days={summary.daily} />
            </section>

            <section aria-labelledby="breakdown-heading" className={`${card} space-y-6`}>
              <h2 id="breakdown-heading" className="text-base font-semibold">
                Last {HISTORY_DAYS} days by feature and model
              </h2>
              <BreakdownTable
                caption="By feature"
                dimension="Feature"
                rows={summary.byFeature.map(({ feature, ...totals }) => ({ name: feature, ...totals }))}
              />
              <BreakdownTable
                caption="By model"
                dimension="Model"
                rows={summary.byModel.map(({ model, ...totals }) => ({ name: model, ...totals }))}
              />
            </section>
          </div>

          <section aria-labelledby="recent-heading" className={card}>
            <h2 id="recent-heading" className="mb-3 text-base font-semibold">
              Recent requests
            </h2>
            <RecentRequestsTable records={summary.recent} />
          </section>
        </>
      )}
    </main>
  );
}
