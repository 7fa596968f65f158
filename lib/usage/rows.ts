import { sql } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { llmUsage, usageDaily, usageMonthly, type UsageSource, type UsageStatus } from "@/lib/db/schema";

export type UsageRowInput = {
  userId: string;
  requestId: string;
  feature: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  tokensCached?: number;
  costMicros: number;
  latencyMs: number;
  status: UsageStatus;
  usageSource: UsageSource;
  chatId?: string | null;
  /** When the request was admitted; the database's clock when left out. */
  createdAt?: Date;
};

/**
 * Inserts one usage row and adds it to the user's daily and monthly rollups (`usage_daily`,
 * `usage_monthly`) in the same transaction, so the dashboards' sums never differ from the rows.
 */
export async function insertUsageRow(db: Database, row: UsageRowInput): Promise<void> {
  const totalTokens = row.tokensIn + row.tokensOut;
  const amounts = { requests: 1, tokensIn: row.tokensIn, tokensOut: row.tokensOut, totalTokens, costMicros: row.costMicros };

  await db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(llmUsage)
      .values({ ...row, totalTokens })
      .returning({ createdAt: llmUsage.createdAt });

    // The UTC day and month come from the stored created_at, which is the database's clock
    // when the caller gave no time.
    const day = inserted!.createdAt.toISOString().slice(0, 10);
    const month = `${day.slice(0, 7)}-01`;

    await tx
      .insert(usageDaily)
      .values({ userId: row.userId, day, ...amounts })
      .onConflictDoUpdate({ target: [usageDaily.userId, usageDaily.day], set: addExcluded(usageDaily) });
    await tx
      .insert(usageMonthly)
      .values({ userId: row.userId, month, feature: row.feature, model: row.model, ...amounts })
      .onConflictDoUpdate({
        target: [usageMonthly.userId, usageMonthly.month, usageMonthly.feature, usageMonthly.model],
        set: addExcluded(usageMonthly),
      });
  });
}

/** The SET clause of an upsert that adds the new row's amounts to the existing rollup row. */
function addExcluded(table: typeof usageDaily | typeof usageMonthly) {
  return {
    requests: sql`${table.requests} + excluded.requests`,
    tokensIn: sql`${table.tokensIn} + excluded.tokens_in`,
    tokensOut: sql`${table.tokensOut} + excluded.tokens_out`,
    totalTokens: sql`${table.totalTokens} + excluded.total_tokens`,
    costMicros: sql`${table.costMicros} + excluded.cost_micros`,
  };
}
