import type { Database } from "@/lib/db/client";
import { llmUsage, type UsageSource, type UsageStatus } from "@/lib/db/schema";

export type UsageRowInput = {
  userId: string;
  requestId: string;
  feature: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
  latencyMs: number;
  status: UsageStatus;
  usageSource: UsageSource;
  chatId?: string | null;
};

export async function insertUsageRow(db: Database, row: UsageRowInput): Promise<void> {
  await db.insert(llmUsage).values({ ...row, totalTokens: row.tokensIn + row.tokensOut });
}
