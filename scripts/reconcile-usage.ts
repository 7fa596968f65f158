// Compares every user's limit counters for a UTC day with the sum of their usage rows.
// Usage: npm run usage:reconcile -- [--day YYYY-MM-DD]   (default: today, UTC)
// Exits 0 when everything matches, 1 when a user differs, 2 on a usage or configuration error.
import { parseArgs } from "node:util";
// Loaded before the app's modules, which read the configuration when first used.
import "./load-environment.mjs";
import { closeDb, getDb } from "@/lib/db/client";
import { getCounterStore } from "@/lib/limits/gate";
import { utcDay } from "@/lib/limits/store";
import { reconcileDay } from "@/lib/usage/reconcile";

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { day: { type: "string" } } });
  const day = values.day ?? utcDay(new Date());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) {
    console.error(`Invalid --day "${day}": use YYYY-MM-DD.`);
    return 2;
  }

  const differences = await reconcileDay(await getDb(), getCounterStore(), { day });
  if (differences.length === 0) {
    console.log(`${day}: every user's counters equal the sum of their usage rows.`);
    return 0;
  }

  console.log(`${day}: ${differences.length} user(s) whose counters differ from their usage rows:`);
  for (const { userId, email, counters, usageRows } of differences) {
    console.log(
      `  ${email ?? userId}: counters ${counters.requests} requests / ${counters.tokens} tokens, ` +
        `usage rows ${usageRows.requests} requests / ${usageRows.tokens} tokens`,
    );
  }
  return 1;
}

main()
  .then(async (code) => {
    await closeDb();
    process.exit(code);
  })
  .catch(async (error) => {
    console.error(`Reconciliation failed: ${(error as Error).message}`);
    await closeDb().catch(() => {});
    process.exit(2);
  });
