import { queryRows, sql, type Database } from "@/lib/db/client";

// The dashboards read totals from the rollups (usage_daily, usage_monthly), which insertUsageRow
// keeps equal to the usage rows, and read single requests from llm_usage by its
// (user_id, created_at) and (created_at) indexes.

export const MICROS_PER_USD = 1_000_000;
export const DAY_MS = 24 * 60 * 60 * 1000;

export type Totals = { requests: number; tokens: number; costUsd: number };

type TotalsRow = { requests: number | string | null; tokens: number | string | null; cost_micros: number | string | null };

export function toTotals(row: TotalsRow | undefined): Totals {
  return {
    requests: Number(row?.requests ?? 0),
    tokens: Number(row?.tokens ?? 0),
    costUsd: Number(row?.cost_micros ?? 0) / MICROS_PER_USD,
  };
}

/** Adds up rows of totals. Costs are added in micro-dollars and converted once, so no rounding error builds up. */
function addTotals(rows: TotalsRow[]): Totals {
  let requests = 0;
  let tokens = 0;
  let costMicros = 0;
  for (const row of rows) {
    requests += Number(row.requests ?? 0);
    tokens += Number(row.tokens ?? 0);
    costMicros += Number(row.cost_micros ?? 0);
  }
  return { requests, tokens, costUsd: costMicros / MICROS_PER_USD };
}

export function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** Formats a date as its UTC day, YYYY-MM-DD. */
export function utcDayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Returns the first day of the date's UTC month, YYYY-MM-01. */
export function utcMonthOf(date: Date): string {
  return `${date.toISOString().slice(0, 7)}-01`;
}

const rollupTotals = sql`sum(requests) as requests, sum(total_tokens) as tokens, sum(cost_micros) as cost_micros`;
const rowTotals = sql`count(*) as requests, sum(total_tokens) as tokens, sum(cost_micros) as cost_micros`;

export type UsageRecord = {
  id: string;
  requestId: string;
  createdAt: string;
  feature: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  totalTokens: number;
  costUsd: number;
  latencyMs: number;
  status: string;
  usageSource: string;
};

/**
 * Position in a user's requests, newest first: the created_at (to the microsecond, as stored) and
 * id of one row. Encoded for URLs by encodeCursor.
 */
export type RecentCursor = { createdAt: string; id: string };

/** Page of recent requests to read: the newest, or the one before or after a cursor. */
export type RecentPosition = { before: RecentCursor } | { after: RecentCursor } | null;

export type UsageSummary = {
  today: Totals;
  /** One entry per UTC day of the period, oldest first, days without requests included. */
  daily: Array<Totals & { day: string }>;
  byFeature: Array<Totals & { feature: string }>;
  byModel: Array<Totals & { model: string }>;
  recent: UsageRecord[];
  /** The whole period: `days` UTC days ending today. */
  period: Totals & { days: number; since: string };
  /** Cursors of the neighbouring pages of `recent`, or null where there is none. */
  recentPage: { size: number; older: string | null; newer: string | null };
};

/** Encodes a cursor as an opaque URL-safe string. */
export function encodeCursor(cursor: RecentCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`).toString("base64url");
}

const CURSOR_PATTERN = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Decodes a cursor made by encodeCursor, or returns null when the text is not one. */
export function decodeCursor(text: string): RecentCursor | null {
  const match = CURSOR_PATTERN.exec(Buffer.from(text, "base64url").toString("utf8"));
  return match ? { createdAt: match[1]!, id: match[2]! } : null;
}

type RecordRow = {
  id: string;
  request_id: string;
  created_at: Date | string;
  created_at_exact: string;
  feature: string;
  model: string;
  tokens_in: number;
  tokens_out: number;
  total_tokens: number;
  cost_micros: number | string;
  latency_ms: number;
  status: string;
  usage_source: string;
};

function toRecord(row: RecordRow): UsageRecord {
  return {
    id: row.id,
    requestId: row.request_id,
    createdAt: new Date(row.created_at).toISOString(),
    feature: row.feature,
    model: row.model,
    tokensIn: row.tokens_in,
    tokensOut: row.tokens_out,
    totalTokens: row.total_tokens,
    costUsd: Number(row.cost_micros) / MICROS_PER_USD,
    latencyMs: row.latency_ms,
    status: row.status,
    usageSource: row.usage_source,
  };
}

/**
 * Reads one page of a user's usage rows, newest first, by keyset on (created_at, id), and whether
 * older and newer rows exist beyond it. Keyset paging stays exact while new rows arrive, and
 * costs the same on page 1,000 as on page 1.
 */
async function listRecentRecords(
  db: Database,
  { userId, limit, position }: { userId: string; limit: number; position: RecentPosition },
): Promise<{ records: UsageRecord[]; older: string | null; newer: string | null }> {
  // The text form keeps the microseconds that a JavaScript Date would drop.
  const columns = sql`id, request_id, created_at, feature, model, tokens_in, tokens_out, total_tokens, cost_micros,
                      latency_ms, status, usage_source,
                      to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at_exact`;

  let rows: RecordRow[];
  if (position && "after" in position) {
    const { createdAt, id } = position.after;
    rows = await queryRows<RecordRow>(
      db,
      sql`select ${columns} from llm_usage
          where user_id = ${userId} and (created_at, id) > (${createdAt}::timestamptz, ${id}::uuid)
          order by created_at asc, id asc limit ${limit}`,
    );
    rows.reverse();
  } else {
    const before = position ? sql`and (created_at, id) < (${position.before.createdAt}::timestamptz, ${position.before.id}::uuid)` : sql``;
    rows = await queryRows<RecordRow>(
      db,
      sql`select ${columns} from llm_usage where user_id = ${userId} ${before}
          order by created_at desc, id desc limit ${limit}`,
    );
  }

  const first = rows[0];
  const last = rows.at(-1);
  if (!first || !last) return { records: [], older: null, newer: null };

  const [edges] = await queryRows<{ has_older: boolean; has_newer: boolean }>(
    db,
    sql`select
          exists (select 1 from llm_usage where user_id = ${userId}
                  and (created_at, id) < (${last.created_at_exact}::timestamptz, ${last.id}::uuid)) as has_older,
          exists (select 1 from llm_usage where user_id = ${userId}
                  and (created_at, id) > (${first.created_at_exact}::timestamptz, ${first.id}::uuid)) as has_newer`,
  );
  return {
    records: rows.map(toRecord),
    older: edges?.has_older ? encodeCursor({ createdAt: last.created_at_exact, id: last.id }) : null,
    newer: edges?.has_newer ? encodeCursor({ createdAt: first.created_at_exact, id: first.id }) : null,
  };
}

/**
 * Summarises a user's usage over the last `days` UTC days, today included: totals per day from
 * the daily rollup, per feature and per model from the rows, and one page of recent requests.
 */
export async function getUsageSummary(
  db: Database,
  {
    userId,
    days,
    now = new Date(),
    recentLimit = 20,
    position = null,
  }: { userId: string; days: number; now?: Date; recentLimit?: number; position?: RecentPosition },
): Promise<UsageSummary> {
  const today = startOfUtcDay(now);
  const since = new Date(today.getTime() - (days - 1) * DAY_MS);
  const sinceDay = utcDayOf(since);

  const [dailyRows, featureRows, modelRows, recent] = await Promise.all([
    queryRows<TotalsRow & { day: string }>(
      db,
      sql`select to_char(day, 'YYYY-MM-DD') as day, requests, total_tokens as tokens, cost_micros
          from usage_daily where user_id = ${userId} and day >= ${sinceDay}::date and day <= ${utcDayOf(today)}::date
          order by day`,
    ),
    queryRows<TotalsRow & { feature: string }>(
      db,
      sql`select feature, ${rowTotals} from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}
          group by feature order by sum(cost_micros) desc, feature`,
    ),
    queryRows<TotalsRow & { model: string }>(
      db,
      sql`select model, ${rowTotals} from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}
          group by model order by sum(cost_micros) desc, model`,
    ),
    listRecentRecords(db, { userId, limit: recentLimit, position }),
  ]);

  const dailyByDay = new Map(dailyRows.map((row) => [row.day, toTotals(row)]));
  const daily: UsageSummary["daily"] = [];
  for (let time = since.getTime(); time <= today.getTime(); time += DAY_MS) {
    const day = utcDayOf(new Date(time));
    daily.push({ day, ...(dailyByDay.get(day) ?? toTotals(undefined)) });
  }
  return {
    today: dailyByDay.get(utcDayOf(today)) ?? toTotals(undefined),
    daily,
    byFeature: featureRows.map((row) => ({ feature: row.feature, ...toTotals(row) })),
    byModel: modelRows.map((row) => ({ model: row.model, ...toTotals(row) })),
    recent: recent.records,
    period: { ...addTotals(dailyRows), days, since: sinceDay },
    recentPage: { size: recentLimit, older: recent.older, newer: recent.newer },
  };
}

export type AppUsageSummary = {
  today: Totals & { activeUsers: number };
  /** The current UTC calendar month, from its first day to now. */
  month: Totals & { start: string };
  /** This month's totals per feature and per model, by cost, highest first. */
  topFeatures: Array<Totals & { feature: string }>;
  topModels: Array<Totals & { model: string }>;
};

/** Summarises the whole app's usage today and this month, with this month's features and models by cost. */
export async function getAppUsageSummary(db: Database, { now = new Date() }: { now?: Date } = {}): Promise<AppUsageSummary> {
  const day = utcDayOf(now);
  const month = utcMonthOf(now);

  const [todayRows, featureRows, modelRows] = await Promise.all([
    queryRows<TotalsRow & { active_users: number | string }>(
      db,
      sql`select ${rollupTotals}, count(*) as active_users from usage_daily where day = ${day}::date`,
    ),
    queryRows<TotalsRow & { feature: string }>(
      db,
      sql`select feature, ${rollupTotals} from usage_monthly where month = ${month}::date
          group by feature order by sum(cost_micros) desc, feature`,
    ),
    queryRows<TotalsRow & { model: string }>(
      db,
      sql`select model, ${rollupTotals} from usage_monthly where month = ${month}::date
          group by model order by sum(cost_micros) desc, model`,
    ),
  ]);

  return {
    today: { ...toTotals(todayRows[0]), activeUsers: Number(todayRows[0]?.active_users ?? 0) },
    month: { ...addTotals(featureRows), start: month },
    topFeatures: featureRows.map((row) => ({ feature: row.feature, ...toTotals(row) })),
    topModels: modelRows.map((row) => ({ model: row.model, ...toTotals(row) })),
  };
}

/** Sums every user's spend today, in dollars. */
export async function getAppSpendToday(db: Database, { now = new Date() }: { now?: Date } = {}): Promise<number> {
  const [row] = await queryRows<{ cost_micros: number | string | null }>(
    db,
    sql`select sum(cost_micros) as cost_micros from usage_daily where day = ${utcDayOf(now)}::date`,
  );
  return Number(row?.cost_micros ?? 0) / MICROS_PER_USD;
}

/**
 * Reads the page position from `before` and `after` query parameters. Returns null for the
 * newest page, and an error message for a malformed cursor or both parameters at once.
 */
export function parseRecentPosition(params: { before?: string | null; after?: string | null }): RecentPosition | { error: string } {
  const { before, after } = params;
  if (before && after) return { error: "Give either before or after, not both." };
  const text = before || after;
  if (!text) return null;

  const cursor = decodeCursor(text);
  if (!cursor) return { error: `Invalid ${before ? "before" : "after"}: use a cursor from recentPage.` };
  return before ? { before: cursor } : { after: cursor };
}
