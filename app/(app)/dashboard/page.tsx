import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { BreakdownTable } from "@/components/usage/breakdown-table";
import { LimitMeter } from "@/components/usage/limit-meter";
import { LimitWarning, type LimitUse } from "@/components/usage/limit-warning";
import { Pager } from "@/components/usage/pager";
import { RecentRequestsTable } from "@/components/usage/recent-requests-table";
import { UsageChart } from "@/components/usage/usage-chart";
import { LocalTime } from "@/components/ui/local-time";
import { card, primaryButton, secondaryButton } from "@/components/ui/styles";
import { getCurrentUser } from "@/lib/auth/current-user";
import { formatCount, formatUsd, formatWait } from "@/lib/client/format";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { getCounterStore } from "@/lib/limits/gate";
import { getUsageSummary, parseRecentPosition, type RecentPosition } from "@/lib/usage/queries";

export const metadata: Metadata = { title: "Usage" };

const HISTORY_DAYS = 30;
const RECENT_PAGE_SIZE = 20;

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

/** Reads the recent requests' page from the URL. A malformed cursor shows the newest page. */
function readPosition(params: Record<string, string | string[] | undefined>): RecentPosition {
  const text = (name: string) => (typeof params[name] === "string" ? params[name] : null);
  const position = parseRecentPosition({ before: text("before"), after: text("after") });
  return position && "error" in position ? null : position;
}

export default async function DashboardPage({ searchParams }: Props) {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");

  const db = await getDb();
  const now = new Date();
  const limits = getConfig().plans[user.plan];
  const position = readPosition(await searchParams);
  const [summary, counters] = await Promise.all([
    getUsageSummary(db, { userId: user.id, days: HISTORY_DAYS, now, recentLimit: RECENT_PAGE_SIZE, position }),
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
  const limitUses: LimitUse[] = [
    { label: "Requests this minute", used: counters.requestsThisMinute, limit: limits.requestsPerMinute, reset: minuteReset },
    { label: "Requests today", used: counters.requestsToday, limit: limits.requestsPerDay, reset: dayReset },
    { label: "Tokens today", used: counters.tokensToday, limit: limits.tokensPerDay, reset: dayReset },
  ];
  const hasAnyRequest = summary.recent.length > 0;

  return (
    <main className="mx-auto w-full max-w-5xl space-y-6 px-4 py-6 sm:py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Usage</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Your <span className="font-medium capitalize">{user.plan}</span> plan&apos;s limits, and what your requests
          used and cost. Days are UTC days.
        </p>
      </div>

      <LimitWarning limits={limitUses} />

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
          <LimitMeter label="Requests this minute" used={counters.requestsThisMinute} limit={limits.requestsPerMinute} unit="requests" reset={minuteReset} />
          <LimitMeter label="Requests today" used={counters.requestsToday} limit={limits.requestsPerDay} unit="requests" reset={dayReset} />
          <LimitMeter label="Tokens today" used={counters.tokensToday} limit={limits.tokensPerDay} unit="tokens" reset={dayReset} />
        </div>
      </section>

      {!hasAnyRequest ? (
        <section aria-labelledby="empty-heading" className={`${card} py-10 text-center`}>
          <h2 id="empty-heading" className="text-base font-semibold">
            No requests yet
          </h2>
          <p className="mx-auto mt-2 max-w-md text-sm text-zinc-600 dark:text-zinc-400">
            Every message you send in a chat and every writing task is counted here, with its tokens, cost and speed. Send
            one to see your first figures.
          </p>
          <div className="mt-5 flex flex-wrap justify-center gap-3">
            <Link href="/chat" className={primaryButton}>
              Start a chat
            </Link>
            <Link href="/generate" className={secondaryButton}>
              Try the writing tool
            </Link>
          </div>
        </section>
      ) : (
        <>
          <section aria-labelledby="daily-heading" className={card}>
            <div className="mb-3 flex flex-wrap items-baseline justify-between gap-2">
              <h2 id="daily-heading" className="text-base font-semibold">
                Last {HISTORY_DAYS} days
              </h2>
              <p className="text-sm text-zinc-600 tabular-nums dark:text-zinc-400">
                {formatCount(summary.period.requests, "request")} · {formatCount(summary.period.tokens, "token")} ·{" "}
                {formatUsd(summary.period.costUsd)}
              </p>
            </div>
            {summary.period.requests === 0 ? (
              <p className="py-6 text-center text-sm text-zinc-600 dark:text-zinc-400">
                No requests in the last {HISTORY_DAYS} days. Your older requests are listed below.
              </p>
            ) : (
              <UsageChart days={summary.daily} />
            )}
          </section>

          {summary.period.requests > 0 && (
            <section aria-labelledby="breakdown-heading" className={card}>
              <h2 id="breakdown-heading" className="mb-4 text-base font-semibold">
                Last {HISTORY_DAYS} days by feature and model
              </h2>
              <div className="grid gap-6 md:grid-cols-2">
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
              </div>
            </section>
          )}

          <section aria-labelledby="recent-heading" className={card}>
            <h2 id="recent-heading" className="mb-3 text-base font-semibold">
              Recent requests
            </h2>
            <RecentRequestsTable records={summary.recent} />
            <Pager
              label="Recent requests pages"
              previousLabel="Newer"
              nextLabel="Older"
              previousHref={summary.recentPage.newer ? `/dashboard?after=${summary.recentPage.newer}` : null}
              nextHref={summary.recentPage.older ? `/dashboard?before=${summary.recentPage.older}` : null}
              status={
                position ? (
                  <Link href="/dashboard" scroll={false} className="underline underline-offset-2 hover:text-zinc-900 dark:hover:text-zinc-100">
                    Back to the newest
                  </Link>
                ) : (
                  `The newest ${summary.recent.length}`
                )
              }
            />
          </section>
        </>
      )}
    </main>
  );
}
