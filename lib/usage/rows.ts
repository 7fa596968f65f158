import { runPrepared, type Database } from "@/lib/db/client";
import type { UsageSource, UsageStatus } from "@/lib/db/schema";

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

/** The change a settlement makes to the row user's counters of one UTC day in the PostgreSQL counter store. */
export type CounterSettlement = {
  /** UTC day (YYYY-MM-DD) of the reservation. */
  day: string;
  tokenDifference: number;
  costDifference: number;
};

const RECORD_USAGE_STATEMENT = `select tollgate_record_usage($1::uuid, $2::text, $3::text, $4::text, $5::integer,
  $6::integer, $7::integer, $8::bigint, $9::integer, $10::text, $11::text, $12::uuid, $13::timestamptz, $14::text,
  $15::bigint, $16::bigint)`;

/**
 * Calls tollgate_record_usage (drizzle/0007_record_usage_function.sql): one statement and one
 * round trip that settles the reservation when one is given, inserts the usage row and adds it
 * to the user's daily and monthly rollups in the same transaction.
 */
async function recordUsage(db: Database, row: UsageRowInput, settlement: CounterSettlement | null): Promise<void> {
  await runPrepared(db, RECORD_USAGE_STATEMENT, [
    row.userId,
    row.requestId,
    row.feature,
    row.model,
    row.tokensIn,
    row.tokensOut,
    row.tokensCached ?? 0,
    row.costMicros,
    row.latencyMs,
    row.status,
    row.usageSource,
    row.chatId ?? null,
    row.createdAt ? row.createdAt.toISOString() : null,
    settlement ? settlement.day : null,
    settlement ? settlement.tokenDifference : 0,
    settlement ? settlement.costDifference : 0,
  ]);
}

/**
 * Inserts one usage row and adds it to the user's daily and monthly rollups (`usage_daily`,
 * `usage_monthly`) in the same transaction, so the dashboards' sums never differ from the rows.
 */
export async function insertUsageRow(db: Database, row: UsageRowInput): Promise<void> {
  await recordUsage(db, row, null);
}

/**
 * Settles a reservation of the PostgreSQL counter store and inserts the call's usage row, with
 * its rollups, in one statement: either all of it is stored or none of it.
 */
export async function insertUsageRowAndSettle(
  db: Database,
  { row, settlement }: { row: UsageRowInput; settlement: CounterSettlement },
): Promise<void> {
  await recordUsage(db, row, settlement);
}
