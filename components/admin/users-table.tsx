import Link from "next/link";
import { UserSelect } from "@/components/admin/user-select";
import { formatInteger, formatUsd } from "@/lib/client/format";
import { PLAN_NAMES } from "@/lib/limits/plans";
import type { AdminListOptions, AdminSort, FlaggedUser, SortDirection } from "@/lib/usage/admin-users";
import { ANOMALY_LABELS } from "@/lib/usage/flags";

export type ListState = Omit<AdminListOptions, "pageSize">;

/** Builds the console's URL for a list state, leaving defaults out so links stay short. */
export function adminHref(state: ListState, changes: Partial<ListState> = {}): string {
  const next = { ...state, ...changes };
  const params = new URLSearchParams();
  if (next.search) params.set("q", next.search);
  if (next.sort !== "cost-today") params.set("sort", next.sort);
  if (next.direction !== (next.sort === "email" ? "asc" : "desc")) params.set("dir", next.direction);
  if (next.filter !== "all") params.set("filter", next.filter);
  if (next.page > 1) params.set("page", String(next.page));
  const query = params.toString();
  return query ? `/admin?${query}` : "/admin";
}

const flagStyle = "rounded-full px-2 py-0.5 text-xs font-medium ring-1 whitespace-nowrap";
const nearLimitStyle = `${flagStyle} bg-amber-50 text-amber-800 ring-amber-200 dark:bg-amber-950 dark:text-amber-300 dark:ring-amber-900`;
const anomalyStyle = `${flagStyle} bg-red-50 text-red-800 ring-red-200 dark:bg-red-950 dark:text-red-300 dark:ring-red-900`;

type Column = { label: string; sort?: AdminSort; numeric?: boolean };

const COLUMNS: Column[] = [
  { label: "User", sort: "email" },
  { label: "Plan", sort: "plan" },
  { label: "Role" },
  { label: "Requests today", sort: "requests-today", numeric: true },
  { label: "Tokens today", sort: "tokens-today", numeric: true },
  { label: "Cost today", sort: "cost-today", numeric: true },
  { label: "Cost this month", sort: "cost-month", numeric: true },
  { label: "Daily average", numeric: true },
  { label: "Flags" },
];

// The user column stays in view while the rest of the table scrolls sideways on a narrow screen.
const stickyCell = "sticky left-0 z-10 bg-white dark:bg-zinc-900";

function SortHeader({ column, state }: { column: Column; state: ListState }) {
  const align = column.numeric ? "text-right" : "text-left";
  const className = `py-2 pr-3 font-medium whitespace-nowrap last:pr-0 ${align} ${column.sort === "email" ? stickyCell : ""}`;
  if (!column.sort) {
    return (
      <th scope="col" className={className}>
        {column.label}
      </th>
    );
  }

  const active = state.sort === column.sort;
  const ascending = state.direction === "asc";
  // The first click sorts the way that column is most useful (highest spend, or A to Z), and a
  // second click on the active column reverses it.
  let direction: SortDirection = column.sort === "email" ? "asc" : "desc";
  if (active) direction = ascending ? "desc" : "asc";
  let arrow = "";
  if (active) arrow = ascending ? "↑" : "↓";
  let ariaSort: "ascending" | "descending" | undefined;
  if (active) ariaSort = ascending ? "ascending" : "descending";

  return (
    <th scope="col" className={className} aria-sort={ariaSort}>
      <Link
        href={adminHref(state, { sort: column.sort, direction, page: 1 })}
        scroll={false}
        className={`inline-flex items-center gap-1 hover:text-zinc-900 dark:hover:text-zinc-100 ${active ? "text-zinc-900 dark:text-zinc-100" : ""}`}
      >
        {column.label}
        <span aria-hidden="true" className="w-2">
          {arrow}
        </span>
        <span className="sr-only">, sort {direction === "asc" ? "ascending" : "descending"}</span>
      </Link>
    </th>
  );
}

/** Renders one page of the admin list, with sortable columns and each user's plan and role editable in place. */
export function UsersTable({ users, state, currentUserId }: { users: FlaggedUser[]; state: ListState; currentUserId: string }) {
  return (
    <div role="region" aria-label="Users table, scrolls sideways" tabIndex={0} className="relative -mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
      <table className="w-full min-w-[62rem] text-sm">
        <thead className="text-xs text-zinc-500 dark:text-zinc-400">
          <tr className="border-b border-zinc-200 dark:border-zinc-800">
            {COLUMNS.map((column) => (
              <SortHeader key={column.label} column={column} state={state} />
            ))}
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {users.map((row) => (
            <tr key={row.id} className="border-b border-zinc-100 align-top last:border-0 dark:border-zinc-800/60">
              <th scope="row" className={`${stickyCell} max-w-36 py-2 pr-3 text-left font-normal sm:max-w-64 lg:max-w-none`}>
                <span className="block font-medium wrap-anywhere">
                  {/* A long address breaks before its domain first. */}
                  {row.email.slice(0, row.email.lastIndexOf("@"))}
                  <wbr />
                  {row.email.slice(row.email.lastIndexOf("@"))}
                </span>
                {row.name && <span className="block text-xs text-zinc-500">{row.name}</span>}
                {/* On a phone the figures are off to the side, so the row header repeats the two that matter most. */}
                <span className="mt-0.5 block text-xs text-zinc-600 sm:hidden dark:text-zinc-400">
                  {formatUsd(row.costTodayUsd)} today
                  {row.nearLimit && " · near limit"}
                  {row.anomalies.map((anomaly) => ` · ${ANOMALY_LABELS[anomaly].label.toLowerCase()}`)}
                </span>
              </th>
              <td className="py-2 pr-3">
                <UserSelect userId={row.id} email={row.email} field="plan" value={row.plan} options={PLAN_NAMES} />
              </td>
              <td className="py-2 pr-3">
                <UserSelect
                  userId={row.id}
                  email={row.email}
                  field="role"
                  value={row.role}
                  options={["user", "admin"]}
                  lockedReason={row.id === currentUserId ? "Your own role" : undefined}
                />
              </td>
              <td className="py-2 pr-3 text-right">{formatInteger(row.requestsToday)}</td>
              <td className="py-2 pr-3 text-right">{formatInteger(row.tokensToday)}</td>
              <td className="py-2 pr-3 text-right">{formatUsd(row.costTodayUsd)}</td>
              <td className="py-2 pr-3 text-right">{formatUsd(row.costMonthUsd)}</td>
              <td className="py-2 pr-3 text-right">{formatUsd(row.averageDailyCostUsd)}</td>
              <td className="py-2">
                <ul className="flex flex-wrap gap-1">
                  {row.nearLimit && <li className={nearLimitStyle}>Near limit</li>}
                  {row.anomalies.map((anomaly) => (
                    <li key={anomaly} className={anomalyStyle} title={ANOMALY_LABELS[anomaly].description}>
                      {ANOMALY_LABELS[anomaly].label}
                    </li>
                  ))}
                  {!row.nearLimit && !row.anomaly && <li className="text-zinc-400 dark:text-zinc-500">None</li>}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
