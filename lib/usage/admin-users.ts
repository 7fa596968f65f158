import { z } from "zod";
import type { SQL } from "drizzle-orm";
import { queryRows, sql, type Database } from "@/lib/db/client";
import { PLAN_NAMES, type PlanTable } from "@/lib/limits/plans";
import {
  flagsSql,
  RECENT_DAYS,
  RHYTHM_MIN_REQUESTS,
  RHYTHM_WINDOW_HOURS,
  type Anomaly,
  type Flags,
  type RhythmStats,
} from "@/lib/usage/flags";
import { DAY_MS, MICROS_PER_USD, startOfUtcDay, utcDayOf, utcMonthOf } from "@/lib/usage/queries";

export type AdminUserRow = {
  id: string;
  email: string;
  name: string | null;
  plan: string;
  role: string;
  requestsToday: number;
  tokensToday: number;
  costTodayUsd: number;
  costMonthUsd: number;
  /** Average daily spend over the RECENT_DAYS days before today, idle days included. */
  averageDailyCostUsd: number;
  rhythm: RhythmStats;
};

export type FlaggedUser = AdminUserRow & Flags;

export const ADMIN_SORTS = ["cost-today", "cost-month", "requests-today", "tokens-today", "plan", "email"] as const;
export type AdminSort = (typeof ADMIN_SORTS)[number];
export const ADMIN_FILTERS = ["all", "flagged", "near-limit", "anomaly"] as const;
export type AdminFilter = (typeof ADMIN_FILTERS)[number];
export type SortDirection = "asc" | "desc";

export type AdminListOptions = {
  /** Part of an email address, matched without regard to case, or empty for every user. */
  search: string;
  sort: AdminSort;
  direction: SortDirection;
  filter: AdminFilter;
  /** 1-based. A page past the last one returns the last page. */
  page: number;
  pageSize: number;
};

export type AdminUserList = {
  users: FlaggedUser[];
  page: { number: number; size: number; total: number; pages: number };
  /** Across every user, whatever the search and filter. */
  counts: { users: number; nearLimit: number; anomaly: number; flagged: number };
};

type ListRow = {
  id: string;
  email: string;
  name: string | null;
  plan: string;
  role: string;
  requests_today: number | string;
  tokens_today: number | string;
  cost_today: number | string;
  cost_month: number | string;
  cost_recent: number | string;
  rhythm_requests: number | string;
  mean_gap: number | string | null;
  gap_stddev: number | string | null;
  active_hours: number | string;
  near_limit: boolean;
  spend_spike: boolean;
  steady_rhythm: boolean;
  around_the_clock: boolean;
};

type CountsRow = {
  users: number | string;
  near_limit_count: number | string;
  anomaly_count: number | string;
  flagged: number | string;
  matching: number | string;
};

const SORT_COLUMNS: Record<AdminSort, SQL> = {
  "cost-today": sql`cost_today`,
  "cost-month": sql`cost_month`,
  "requests-today": sql`requests_today`,
  "tokens-today": sql`tokens_today`,
  plan: sql`plan_rank`,
  email: sql`email`,
};

const FILTER_CONDITIONS: Record<AdminFilter, SQL> = {
  all: sql`true`,
  flagged: sql`(near_limit or anomaly)`,
  "near-limit": sql`near_limit`,
  anomaly: sql`anomaly`,
};

/**
 * Builds the per-user statistics as a CTE list ending in `stats`: today's, this month's and the
 * recent days' spend from the rollups, the rhythm of the last RHYTHM_WINDOW_HOURS of requests
 * from the usage rows, and the flags (see flagsSql). The rhythm is only computed for users with
 * enough requests on the window's two UTC days, which the daily rollup gives cheaply.
 */
// NOTE: every request aggregates the figures of every user, which took tens of milliseconds at
// 10,000 users (docs/benchmarks.md) and grows with the number of users.
function statsCte({ now, plans }: { now: Date; plans: PlanTable }): SQL {
  const today = startOfUtcDay(now);
  const recentStart = new Date(today.getTime() - RECENT_DAYS * DAY_MS);
  const windowStart = new Date(now.getTime() - RHYTHM_WINDOW_HOURS * 60 * 60 * 1000);
  const planRows = PLAN_NAMES.map(
    (name, rank) => sql`(${name}::text, ${rank}::int, ${plans[name].requestsPerDay}::float8, ${plans[name].tokensPerDay}::float8)`,
  );
  const flags = flagsSql({
    requestsToday: sql`t.requests`,
    tokensToday: sql`t.total_tokens`,
    costTodayMicros: sql`t.cost_micros`,
    recentCostMicros: sql`r.cost_micros`,
    requestsPerDay: sql`p.requests_per_day`,
    tokensPerDay: sql`p.tokens_per_day`,
    rhythmRequests: sql`h.requests`,
    meanGapSeconds: sql`h.mean_gap`,
    gapStdDevSeconds: sql`h.gap_stddev`,
    activeHours: sql`h.active_hours`,
  });

  return sql`
    with plan_limits (plan, plan_rank, requests_per_day, tokens_per_day) as (values ${sql.join(planRows, sql`, `)}),
    today as (
      select user_id, requests, total_tokens, cost_micros from usage_daily where day = ${utcDayOf(today)}::date
    ),
    recent as (
      select user_id, sum(cost_micros) as cost_micros from usage_daily
      where day >= ${utcDayOf(recentStart)}::date and day < ${utcDayOf(today)}::date
      group by user_id
    ),
    month as (
      select user_id, sum(cost_micros) as cost_micros from usage_monthly where month = ${utcMonthOf(now)}::date group by user_id
    ),
    candidates as (
      select user_id from usage_daily where day >= ${utcDayOf(windowStart)}::date
      group by user_id having sum(requests) >= ${RHYTHM_MIN_REQUESTS}
    ),
    gaps as (
      -- date_part returns float8, which is much faster to subtract and average than the numeric of extract.
      select l.user_id,
             date_part('epoch', l.created_at) - lag(date_part('epoch', l.created_at)) over (partition by l.user_id order by l.created_at) as gap,
             date_part('hour', l.created_at at time zone 'UTC')::int as hour
      from llm_usage l join candidates c on c.user_id = l.user_id
      where l.created_at > ${windowStart.toISOString()} and l.created_at <= ${now.toISOString()}
    ),
    rhythm as (
      select user_id, count(*) as requests, avg(gap) as mean_gap, stddev_pop(gap) as gap_stddev,
             count(distinct hour) as active_hours
      from gaps group by user_id
    ),
    flagged as (
      select u.id, u.email, u.name, u.plan, u.role, p.plan_rank,
             coalesce(t.requests, 0) as requests_today, coalesce(t.total_tokens, 0) as tokens_today,
             coalesce(t.cost_micros, 0) as cost_today, coalesce(m.cost_micros, 0) as cost_month,
             coalesce(r.cost_micros, 0) as cost_recent,
             coalesce(h.requests, 0) as rhythm_requests, h.mean_gap, h.gap_stddev, coalesce(h.active_hours, 0) as active_hours,
             ${flags.nearLimit} as near_limit, ${flags["spend-spike"]} as spend_spike,
             ${flags["steady-rhythm"]} as steady_rhythm, ${flags["around-the-clock"]} as around_the_clock
      from users u
      left join plan_limits p on p.plan = u.plan
      left join today t on t.user_id = u.id
      left join recent r on r.user_id = u.id
      left join month m on m.user_id = u.id
      left join rhythm h on h.user_id = u.id
    ),
    stats as (
      select *, (spend_spike or steady_rhythm or around_the_clock) as anomaly from flagged
    )`;
}

function toFlaggedUser(row: ListRow): FlaggedUser {
  const anomalies: Anomaly[] = [];
  if (row.spend_spike) anomalies.push("spend-spike");
  if (row.steady_rhythm) anomalies.push("steady-rhythm");
  if (row.around_the_clock) anomalies.push("around-the-clock");
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    plan: row.plan,
    role: row.role,
    requestsToday: Number(row.requests_today),
    tokensToday: Number(row.tokens_today),
    costTodayUsd: Number(row.cost_today) / MICROS_PER_USD,
    costMonthUsd: Number(row.cost_month) / MICROS_PER_USD,
    averageDailyCostUsd: Number(row.cost_recent) / RECENT_DAYS / MICROS_PER_USD,
    rhythm: {
      requests: Number(row.rhythm_requests),
      meanGapSeconds: row.mean_gap === null ? null : Number(row.mean_gap),
      gapStdDevSeconds: row.gap_stddev === null ? null : Number(row.gap_stddev),
      activeHours: Number(row.active_hours),
    },
    nearLimit: row.near_limit,
    anomaly: anomalies.length > 0,
    anomalies,
  };
}

/**
 * Lists one page of users for the admin console, with flag counts over every user. Searching,
 * filtering, sorting and paging all happen in the database, so only one page of users leaves
 * it. Ties are broken by email, so pages never overlap.
 */
export async function listAdminUsers(
  db: Database,
  { now = new Date(), plans, ...options }: AdminListOptions & { now?: Date; plans: PlanTable },
): Promise<AdminUserList> {
  const search = options.search.trim().toLowerCase();
  // strpos, not LIKE, so that "%" and "_" in the search match themselves. Emails are stored lower-cased.
  const matches = sql`(${search} = '' or strpos(email, ${search}) > 0) and ${FILTER_CONDITIONS[options.filter]}`;
  const direction = options.direction === "asc" ? sql`asc` : sql`desc`;

  const readPage = async (page: number) => {
    const offset = (page - 1) * options.pageSize;
    return queryRows<ListRow & CountsRow & { has_user: boolean }>(
      db,
      sql`${statsCte({ now, plans })},
          counts as (
            select count(*) as users, count(*) filter (where near_limit) as near_limit, count(*) filter (where anomaly) as anomaly,
                   count(*) filter (where near_limit or anomaly) as flagged, count(*) filter (where ${matches}) as matching
            from stats
          ),
          page as (
            select * from stats where ${matches}
            order by ${SORT_COLUMNS[options.sort]} ${direction}, email asc
            limit ${options.pageSize} offset ${offset}
          )
          select page.*, page.id is not null as has_user, counts.users, counts.near_limit as near_limit_count,
                 counts.anomaly as anomaly_count, counts.flagged, counts.matching
          from counts left join page on true
          order by ${SORT_COLUMNS[options.sort]} ${direction}, email asc`,
    );
  };

  const requested = Math.max(1, options.page);
  let rows = await readPage(requested);
  const total = Number(rows[0]?.matching ?? 0);
  const pages = Math.max(1, Math.ceil(total / options.pageSize));
  // A page past the last (say, after a plan change shortened a filtered list) shows the last page.
  const number = Math.min(requested, pages);
  if (number !== requested) rows = await readPage(number);

  const first = rows[0];
  return {
    users: rows.filter((row) => row.has_user).map(toFlaggedUser),
    page: { number, size: options.pageSize, total, pages },
    counts: {
      users: Number(first?.users ?? 0),
      nearLimit: Number(first?.near_limit_count ?? 0),
      anomaly: Number(first?.anomaly_count ?? 0),
      flagged: Number(first?.flagged ?? 0),
    },
  };
}

export const ADMIN_PAGE_SIZE = 50;

const PAGE_MESSAGE = "must be a whole number from 1";

const adminParamsSchema = z.object({
  q: z.string().max(200, { message: "must be at most 200 characters" }).default(""),
  sort: z.enum(ADMIN_SORTS, { message: `must be one of ${ADMIN_SORTS.join(", ")}` }).default("cost-today"),
  dir: z.enum(["asc", "desc"], { message: "must be asc or desc" }).optional(),
  filter: z.enum(ADMIN_FILTERS, { message: `must be one of ${ADMIN_FILTERS.join(", ")}` }).default("all"),
  page: z.coerce.number({ message: PAGE_MESSAGE }).int({ message: PAGE_MESSAGE }).min(1, { message: PAGE_MESSAGE }).default(1),
});

/**
 * Reads the admin list's query parameters (q, sort, dir, filter, page). Without `dir`, email
 * sorts ascending and everything else descending, so plans start with the largest.
 * Returns an error message naming the first invalid parameter.
 */
export function parseAdminListParams(params: URLSearchParams): Omit<AdminListOptions, "pageSize"> | { error: string } {
  const raw = Object.fromEntries(["q", "sort", "dir", "filter", "page"].flatMap((name) => (params.get(name) ? [[name, params.get(name)]] : [])));
  const result = adminParamsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { error: `Invalid ${issue.path.join(".")}: ${issue.message}.` };
  }
  const { q, sort, dir, filter, page } = result.data;
  const direction = dir ?? (sort === "email" ? "asc" : "desc");
  return { search: q, sort, direction, filter, page };
}
