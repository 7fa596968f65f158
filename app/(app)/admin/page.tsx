import type { Metadata } from "next";
import { notFound, redirect } from "next/navigation";
import { PlanSelect } from "@/components/admin/plan-select";
import { card } from "@/components/ui/styles";
import { getCurrentUser } from "@/lib/auth/current-user";
import { formatInteger, formatUsd } from "@/lib/client/format";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { PLAN_NAMES } from "@/lib/limits/plans";
import { flagUsers } from "@/lib/usage/flags";
import { getAppSpendToday, listUsersWithUsage } from "@/lib/usage/queries";

export const metadata: Metadata = { title: "Admin" };

const flagStyle = "rounded-full px-2 py-0.5 text-xs font-medium ring-1 whitespace-nowrap";

const columns = [
  { label: "User", align: "text-left" },
  { label: "Plan", align: "text-left" },
  { label: "Role", align: "text-left" },
  { label: "Requests today", align: "text-right" },
  { label: "Tokens today", align: "text-right" },
  { label: "Cost today", align: "text-right" },
  { label: "Cost this month", align: "text-right" },
  { label: "Daily average", align: "text-right" },
  { label: "Flags", align: "text-left" },
];

export default async function AdminPage() {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");
  // Non-admins see the same 404 as for any unknown page, so the console's existence is not advertised.
  if (user.role !== "admin") notFound();

  const db = await getDb();
  const now = new Date();
  const [rows, spendTodayUsd] = await Promise.all([listUsersWithUsage(db, { now }), getAppSpendToday(db, { now })]);
  const users = flagUsers(rows, getConfig().plans);

  return (
    <main className="mx-auto w-full max-w-6xl space-y-6 px-4 py-6 sm:py-8">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Admin</h1>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            Every user&apos;s usage today, with those near a daily limit or spending far above their usual day.
          </p>
        </div>
        <div className={`${card} py-3 sm:py-3`}>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">App spend today (UTC)</p>
          <p className="text-xl font-semibold tabular-nums">{formatUsd(spendTodayUsd)}</p>
        </div>
      </div>

      <section aria-labelledby="users-heading" className={card}>
        <h2 id="users-heading" className="mb-3 text-base font-semibold">
          Users ({formatInteger(users.length)})
        </h2>
        <div className="-mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
          <table className="w-full min-w-[56rem] text-sm">
            <thead className="text-xs text-zinc-500 dark:text-zinc-400">
              <tr className="border-b border-zinc-200 dark:border-zinc-800">
                {columns.map(({ label, align }) => (
                  <th key={label} scope="col" className={`py-2 pr-3 font-medium whitespace-nowrap last:pr-0 ${align}`}>
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody className="tabular-nums">
              {users.map((row) => (
                <tr key={row.id} className="border-b border-zinc-100 align-top last:border-0 dark:border-zinc-800/60">
                  <th scope="row" className="py-2 pr-3 text-left font-normal">
                    <span className="block font-medium break-all">{row.email}</span>
                    {row.name && <span className="block text-xs text-zinc-500">{row.name}</span>}
                  </th>
                  <td className="py-2 pr-3">
                    <PlanSelect userId={row.id} email={row.email} plan={row.plan} planNames={PLAN_NAMES} />
                  </td>
                  <td className="py-2 pr-3">{row.role}</td>
                  <td className="py-2 pr-3 text-right">{formatInteger(row.requestsToday)}</td>
                  <td className="py-2 pr-3 text-right">{formatInteger(row.tokensToday)}</td>
                  <td className="py-2 pr-3 text-right">{formatUsd(row.costTodayUsd)}</td>
                  <td className="py-2 pr-3 text-right">{formatUsd(row.costMonthUsd)}</td>
                  <td className="py-2 pr-3 text-right" title="Average daily spend over the 7 days before today">
                    {formatUsd(row.averageDailyCostUsd)}
                  </td>
                  <td className="py-2">
                    <div className="flex flex-wrap gap-1">
                      {row.nearLimit && (
                        <span
                          className={`${flagStyle} bg-amber-50 text-amber-800 ring-amber-200 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-900`}
                        >
                          Near limit
                        </span>
                      )}
                      {row.anomaly && (
                        <span
                          className={`${flagStyle} bg-red-50 text-red-800 ring-red-200 dark:bg-red-950 dark:text-red-300 dark:ring-red-900`}
                        >
                          Unusual spend
                        </span>
                      )}
                      {!row.nearLimit && !row.anomaly && <span className="text-zinc-400">None</span>}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </main>
  );
}
