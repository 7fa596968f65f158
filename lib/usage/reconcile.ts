import { getConfig } from "@/lib/config";
import { queryRows, sql, type Database } from "@/lib/db/client";
import type { CounterStore } from "@/lib/limits/store";

export type CounterDifference = {
  userId: string;
  email: string | null;
  counters: { requests: number; tokens: number };
  usageRows: { requests: number; tokens: number };
};

type RowTotals = { user_id: string; email: string | null; requests: number | string; tokens: number | string | null };

/**
 * Compares every user's counters (or only those of `userIds`) for a UTC day with the sum of
 * their usage rows that day, and returns the users where they differ. Counters include reservations of calls still running,
 * so run it for a day with no call in flight (yesterday, or today when traffic is quiet).
 * Counters are kept until one day after their day ends, so only today and yesterday can be
 * checked.
 */
export async function reconcileDay(
  db: Database,
  store: CounterStore,
  { day, userIds }: { day: string; userIds?: string[] },
): Promise<CounterDifference[]> {
  const start = new Date(`${day}T00:00:00.000Z`);
  if (Number.isNaN(start.getTime())) throw new Error(`Invalid day "${day}": use YYYY-MM-DD.`);
  const end = new Date(start.getTime() + 24 * 60 * 60 * 1000);

  const rows = await queryRows<RowTotals>(
    db,
    sql`select u.user_id, users.email, u.requests, u.tokens
        from (select user_id, count(*) as requests, sum(total_tokens) as tokens from llm_usage
              where created_at >= ${start.toISOString()} and created_at < ${end.toISOString()}
              group by user_id) u
        left join users on users.id = u.user_id`,
  );
  const totals = new Map(rows.map((row) => [row.user_id, row]));

  // Users with counters but no rows are found too where the store can list them: a
  // reservation that was never settled leaves exactly that trace.
  if (getConfig().counters.kind === "postgres") {
    const counted = await queryRows<{ user_id: string; email: string | null }>(
      db,
      sql`select c.user_id, users.email from limit_counters c left join users on users.id = c.user_id where c.day = ${day}`,
    );
    for (const row of counted) {
      if (!totals.has(row.user_id)) totals.set(row.user_id, { user_id: row.user_id, email: row.email, requests: 0, tokens: 0 });
    }
  }

  // Noon of that day: any instant inside it reads that day's counters.
  const noon = new Date(start.getTime() + 12 * 60 * 60 * 1000);
  const differences: CounterDifference[] = [];
  for (const row of totals.values()) {
    if (userIds && !userIds.includes(row.user_id)) continue;
    const snapshot = await store.peek({ userId: row.user_id, now: noon });
    const usageRows = { requests: Number(row.requests), tokens: Number(row.tokens ?? 0) };
    const counters = { requests: snapshot.requestsToday, tokens: snapshot.tokensToday };
    if (counters.requests !== usageRows.requests || counters.tokens !== usageRows.tokens) {
      differences.push({ userId: row.user_id, email: row.email, counters, usageRows });
    }
  }
  return differences;
}
