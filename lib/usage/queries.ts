import { queryRows, sql, type Database } from "@/lib/db/client";

const MICROS_PER_USD = 1_000_000;
const DAY_MS = 24 * 60 * 60 * 1000;

type Totals = { requests: number; tokens: number; costUsd: number };

type TotalsRow = { requests: number | string; tokens: number | string | null; cost_micros: number | string | null };

function toTotals(row: TotalsRow | undefined): Totals {
  return {
    requests: Number(row?.requests ?? 0),
    tokens: Number(row?.tokens ?? 0),
    costUsd: Number(row?.cost_micros ?? 0) / MICROS_PER_USD,
  };
}

function startOfUtcDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

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

export type UsageSummary = {
  today: Totals;
  daily: Array<Totals & { day: string }>;
  byFeature: Array<Totals & { feature: string }>;
  byModel: Array<Totals & { model: string }>;
  recent: UsageRecord[];
};

/** Summarises a user's usage rows over the last `days` UTC days, today included. */
export async function getUsageSummary(
  db: Database,
  { userId, days, now = new Date(), recentLimit = 20 }: { userId: string; days: number; now?: Date; recentLimit?: number },
): Promise<UsageSummary> {
  const today = startOfUtcDay(now);
  const since = new Date(today.getTime() - (days - 1) * DAY_MS);
  const totals = sql`count(*) as requests, sum(total_tokens) as tokens, sum(cost_micros) as cost_micros`;

  const [todayRows, dailyRows, featureRows, modelRows, recentRows] = await Promise.all([
    queryRows<TotalsRow>(db, sql`select ${totals} from llm_usage where user_id = ${userId} and created_at >= ${today.toISOString()}`),
    queryRows<TotalsRow & { day: string }>(
      db,
      sql`select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, ${totals}
          from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}
          group by 1 order by 1`,
    ),
    queryRows<TotalsRow & { feature: string }>(
      db,
      sql`select feature, ${totals} from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}
          group by feature order by sum(cost_micros) desc`,
    ),
    queryRows<TotalsRow & { model: string }>(
      db,
      sql`select model, ${totals} from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}
          group by model order by sum(cost_micros) desc`,
    ),
    queryRows<{
      id: string;
      request_id: string;
      created_at: Date | string;
      feature: string;
      model: string;
      tokens_in: number;
      tokens_out: number;
      total_tokens: number;
      cost_micros: number | string;
      latency_ms: number;
      status: string;
      usage_source: string;
    }>(
      db,
      sql`select id, request_id, created_at, feature, model, tokens_in, tokens_out, total_tokens, cost_micros,
                 latency_ms, status, usage_source
          from llm_usage where user_id = ${userId} order by created_at desc limit ${recentLimit}`,
    ),
  ]);

  const dailyByDay = new Map(dailyRows.map((row) => [row.day, toTotals(row)]));
  const daily: UsageSummary["daily"] = [];
  for (let time = since.getTime(); time <= today.getTime(); time += DAY_MS) {
    const day = new Date(time).toISOString().slice(0, 10);
    daily.push({ day, ...(dailyByDay.get(day) ?? { requests: 0, tokens: 0, costUsd: 0 }) });
  }

  return {
    today: toTotals(todayRows[0]),
    daily,
    byFeature: featureRows.map((row) => ({ feature: row.feature, ...toTotals(row) })),
    byModel: modelRows.map((row) => ({ model: row.model, ...toTotals(row) })),
    recent: recentRows.map((row) => ({
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
    })),
  };
}

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
  /** Average daily spend over the 7 days before today. */
  averageDailyCostUsd: number;
};

/** Lists every user with today's and this month's usage, and their average over the week before. */
export async function listUsersWithUsage(db: Database, { now = new Date() }: { now?: Date } = {}): Promise<AdminUserRow[]> {
  const today = startOfUtcDay(now);
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const weekStart = new Date(today.getTime() - 7 * DAY_MS);
  const periodStart = monthStart < weekStart ? monthStart : weekStart;

  const rows = await queryRows<{
    id: string;
    email: string;
    name: string | null;
    plan: string;
    role: string;
    requests_today: number | string | null;
    tokens_today: number | string | null;
    cost_today: number | string | null;
    cost_month: number | string | null;
    cost_week_before: number | string | null;
  }>(
    db,
    sql`with spend as (
          select user_id,
                 count(*) filter (where created_at >= ${today.toISOString()}) as requests_today,
                 sum(total_tokens) filter (where created_at >= ${today.toISOString()}) as tokens_today,
                 sum(cost_micros) filter (where created_at >= ${today.toISOString()}) as cost_today,
                 sum(cost_micros) filter (where created_at >= ${monthStart.toISOString()}) as cost_month,
                 sum(cost_micros) filter (where created_at >= ${weekStart.toISOString()} and created_at < ${today.toISOString()}) as cost_week_before
          from llm_usage where created_at >= ${periodStart.toISOString()}
          group by user_id
        )
        select u.id, u.email, u.name, u.plan, u.role, s.requests_today, s.tokens_today, s.cost_today, s.cost_month, s.cost_week_before
        from users u left join spend s on s.user_id = u.id
        order by coalesce(s.cost_today, 0) desc, u.created_at desc`,
  );

  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    name: row.name,
    plan: row.plan,
    role: row.role,
    requestsToday: Number(row.requests_today ?? 0),
    tokensToday: Number(row.tokens_today ?? 0),
    costTodayUsd: Number(row.cost_today ?? 0) / MICROS_PER_USD,
    costMonthUsd: Number(row.cost_month ?? 0) / MICROS_PER_USD,
    averageDailyCostUsd: Number(row.cost_week_before ?? 0) / 7 / MICROS_PER_USD,
  }));
}

/** Sums every user's spend today, in dollars. */
export async function getAppSpendToday(db: Database, { now = new Date() }: { now?: Date } = {}): Promise<number> {
  const [row] = await queryRows<{ cost_micros: number | string | null }>(
    db,
    sql`select sum(cost_micros) as cost_micros from llm_usage where created_at >= ${startOfUtcDay(now).toISOString()}`,
  );
  return Number(row?.cost_micros ?? 0) / MICROS_PER_USD;
}
