import type { Metadata } from "next";
import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { adminHref, UsersTable, type ListState } from "@/components/admin/users-table";
import { BreakdownTable } from "@/components/usage/breakdown-table";
import { Pager } from "@/components/usage/pager";
import { card, errorBox, primaryButton, textInput } from "@/components/ui/styles";
import { getCurrentUser } from "@/lib/auth/current-user";
import { formatCount, formatInteger, formatUsd, percentUsed } from "@/lib/client/format";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { readSpendCapStatus, type SpendCapStatus } from "@/lib/limits/gate";
import { ADMIN_PAGE_SIZE, listAdminUsers, parseAdminListParams, type AdminFilter } from "@/lib/usage/admin-users";
import { ANOMALY_LABELS, NEAR_LIMIT_SHARE } from "@/lib/usage/flags";
import { getAppUsageSummary } from "@/lib/usage/queries";

export const metadata: Metadata = { title: "Admin" };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

const DEFAULT_STATE: ListState = { search: "", sort: "cost-today", direction: "desc", filter: "all", page: 1 };

const FILTER_LABELS: Record<AdminFilter, string> = {
  all: "All users",
  flagged: "Flagged users",
  "near-limit": "Near a limit",
  anomaly: "Anomalies",
};

const monthLabel = new Intl.DateTimeFormat("en-US", { month: "long", year: "numeric", timeZone: "UTC" });

function SpendCapNote({ spendTodayUsd, cap }: { spendTodayUsd: number; cap: SpendCapStatus }) {
  if (cap.spendCapUsd === null) {
    return <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">No daily cap. Set GLOBAL_DAILY_SPEND_CAP_USD to add one.</p>;
  }

  const percent = percentUsed(spendTodayUsd, cap.spendCapUsd);
  let barColour = "bg-indigo-500";
  if (percent >= NEAR_LIMIT_SHARE * 100) barColour = "bg-amber-500";
  if (cap.capReached || percent >= 100) barColour = "bg-red-500";
  return (
    <div className="mt-2 space-y-1.5">
      <div
        role="progressbar"
        aria-label="App spend today against the daily cap"
        aria-valuemin={0}
        aria-valuemax={cap.spendCapUsd}
        aria-valuenow={Math.min(spendTodayUsd, cap.spendCapUsd)}
        aria-valuetext={`${formatUsd(spendTodayUsd)} of ${formatUsd(cap.spendCapUsd)}`}
        className="h-2 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div className={`h-full rounded-full ${barColour}`} style={{ width: `${percent}%` }} />
      </div>
      <p className="text-xs text-zinc-500 dark:text-zinc-400">
        {percent}% of the {formatUsd(cap.spendCapUsd)} daily cap (GLOBAL_DAILY_SPEND_CAP_USD).
      </p>
      {cap.capReached === true && (
        <p className="text-xs font-medium text-red-700 dark:text-red-300">Cap reached: model calls are rejected until midnight UTC.</p>
      )}
      {cap.capReached === null && (
        <p className="text-xs font-medium text-amber-700 dark:text-amber-300">The spend counter could not be read, so whether the cap is rejecting calls is unknown.</p>
      )}
    </div>
  );
}

export default async function AdminPage({ searchParams }: Props) {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  // Non-admins see the same 404 as for any unknown page, so the console's existence is not advertised.
  if (user.role !== "admin") notFound();

  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(await searchParams)) if (typeof value === "string") params.set(name, value);
  const parsed = parseAdminListParams(params);
  const state: ListState = "error" in parsed ? DEFAULT_STATE : parsed;

  const db = await getDb();
  const now = new Date();
  const [list, summary, spendCap] = await Promise.all([
    listAdminUsers(db, { ...state, pageSize: ADMIN_PAGE_SIZE, now, plans: getConfig().plans }),
    getAppUsageSummary(db, { now }),
    readSpendCapStatus({ now }),
  ]);
  const month = monthLabel.format(new Date(`${summary.month.start}T00:00:00Z`));
  const shownState = { ...state, page: list.page.number };

  return (
    <main className="mx-auto w-full max-w-6xl space-y-6 px-4 py-6 sm:py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Admin</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          The app&apos;s spend, and every user&apos;s usage with those near a daily limit or using it unlike a person. Days are
          UTC days.
        </p>
      </div>

      <section aria-labelledby="summary-heading">
        <h2 id="summary-heading" className="sr-only">
          Summary
        </h2>
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
          <div className={card}>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">App spend today</p>
            <p className="text-2xl font-semibold tabular-nums">{formatUsd(summary.today.costUsd)}</p>
            <SpendCapNote spendTodayUsd={summary.today.costUsd} cap={spendCap} />
          </div>
          <div className={card}>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">Spend in {month}</p>
            <p className="text-2xl font-semibold tabular-nums">{formatUsd(summary.month.costUsd)}</p>
            <p className="mt-2 text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
              {formatCount(summary.month.requests, "request")} · {formatCount(summary.month.tokens, "token")}
            </p>
          </div>
          <div className={card}>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">Requests today</p>
            <p className="text-2xl font-semibold tabular-nums">{formatInteger(summary.today.requests)}</p>
            <p className="mt-2 text-xs text-zinc-500 tabular-nums dark:text-zinc-400">
              from {formatCount(summary.today.activeUsers, "user")} of {formatInteger(list.counts.users)}
            </p>
          </div>
          <div className={card}>
            <p className="text-xs text-zinc-500 dark:text-zinc-400">Flagged users</p>
            <p className="text-2xl font-semibold tabular-nums">{formatInteger(list.counts.flagged)}</p>
            <p className="mt-2 flex flex-wrap gap-x-3 text-xs">
              <Link href={adminHref(DEFAULT_STATE, { filter: "near-limit" })} className="text-amber-700 underline underline-offset-2 dark:text-amber-300">
                {formatInteger(list.counts.nearLimit)} near a limit
              </Link>
              <Link href={adminHref(DEFAULT_STATE, { filter: "anomaly" })} className="text-red-700 underline underline-offset-2 dark:text-red-300">
                {formatCount(list.counts.anomaly, "anomaly", "anomalies")}
              </Link>
            </p>
          </div>
        </div>
      </section>

      <section aria-labelledby="top-heading" className={card}>
        <h2 id="top-heading" className="mb-4 text-base font-semibold">
          {month} by feature and model
        </h2>
        {summary.topFeatures.length === 0 ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">No requests this month yet. Figures appear here after the first model call.</p>
        ) : (
          <div className="grid gap-6 md:grid-cols-2">
            <BreakdownTable
              caption="Top features"
              dimension="Feature"
              rows={summary.topFeatures.map(({ feature, ...totals }) => ({ name: feature, ...totals }))}
            />
            <BreakdownTable
              caption="Top models"
              dimension="Model"
              rows={summary.topModels.map(({ model, ...totals }) => ({ name: model, ...totals }))}
            />
          </div>
        )}
      </section>

      <section aria-labelledby="users-heading" className={card}>
        <h2 id="users-heading" className="text-base font-semibold">
          Users
        </h2>
        {"error" in parsed && (
          <p role="alert" className={`${errorBox} mt-3`}>
            {parsed.error} Showing the default list instead.
          </p>
        )}

        <form action="/admin" method="get" role="search" className="mt-3 flex flex-wrap items-end gap-3">
          <div className="min-w-48 flex-1">
            <label htmlFor="user-search" className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Search by email
            </label>
            <input id="user-search" name="q" type="search" defaultValue={state.search} placeholder="name@example.com" className={textInput} />
          </div>
          <div>
            <label htmlFor="user-filter" className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-400">
              Show
            </label>
            <select
              id="user-filter"
              name="filter"
              defaultValue={state.filter}
              className="block rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-950"
            >
              {Object.entries(FILTER_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {state.sort !== DEFAULT_STATE.sort && <input type="hidden" name="sort" value={state.sort} />}
          <input type="hidden" name="dir" value={state.direction} />
          <button type="submit" className={primaryButton}>
            Search
          </button>
        </form>

        <p className="mt-4 mb-2 text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
          {formatCount(list.page.total, "user")}
          {state.search && <> matching &ldquo;{state.search}&rdquo;</>}
          {state.filter !== "all" && <> · {FILTER_LABELS[state.filter].toLowerCase()}</>}
          {(state.search || state.filter !== "all") && (
            <>
              {" "}
              ·{" "}
              <Link href={adminHref(DEFAULT_STATE, { sort: state.sort, direction: state.direction })} className="underline underline-offset-2">
                Show everyone
              </Link>
            </>
          )}
        </p>

        {list.users.length === 0 ? (
          <p className="py-8 text-center text-sm text-zinc-600 dark:text-zinc-400">
            No user matches. Check the spelling of the address, or choose &ldquo;All users&rdquo; under Show.
          </p>
        ) : (
          <>
            <UsersTable users={list.users} state={shownState} currentUserId={user.id} />
            <Pager
              label="User list pages"
              previousLabel="Previous"
              nextLabel="Next"
              previousHref={list.page.number > 1 ? adminHref(shownState, { page: list.page.number - 1 }) : null}
              nextHref={list.page.number < list.page.pages ? adminHref(shownState, { page: list.page.number + 1 }) : null}
              status={`Page ${formatInteger(list.page.number)} of ${formatInteger(list.page.pages)}`}
            />
          </>
        )}

        <dl className="mt-5 grid gap-x-6 gap-y-2 border-t border-zinc-200 pt-4 text-xs text-zinc-600 sm:grid-cols-2 dark:border-zinc-800 dark:text-zinc-400">
          <div>
            <dt className="inline font-medium text-zinc-800 dark:text-zinc-200">Near limit: </dt>
            <dd className="inline">
              {Math.round(NEAR_LIMIT_SHARE * 100)}% or more of the plan&apos;s requests or tokens for today.
            </dd>
          </div>
          {Object.values(ANOMALY_LABELS).map(({ label, description }) => (
            <div key={label}>
              <dt className="inline font-medium text-zinc-800 dark:text-zinc-200">{label}: </dt>
              <dd className="inline">{description}</dd>
            </div>
          ))}
          <div>
            <dt className="inline font-medium text-zinc-800 dark:text-zinc-200">Role changes: </dt>
            <dd className="inline">addresses in ADMIN_EMAILS become admins again at their next sign-in.</dd>
          </div>
        </dl>
      </section>
    </main>
  );
}
