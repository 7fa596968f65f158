import { logger } from "@/lib/log";

// While the counter store is unreachable every LLM request fails, so after the first error of an
// outage only one line per interval is logged, with a count of the failures not logged.
const REPEAT_LOG_INTERVAL_MS = 30_000;

let outageStartedAt: number | null = null;
let lastLoggedAt = 0;
let failuresNotLogged = 0;

/** Logs a failed reservation: the first of an outage at once, later ones at most once per interval. */
export function recordStoreFailure(fields: { requestId: string; userId: string; feature: string; error: unknown }): void {
  const now = Date.now();
  if (outageStartedAt === null) {
    outageStartedAt = now;
    lastLoggedAt = now;
    failuresNotLogged = 0;
    logger.error("counter store unreachable: rejecting LLM requests with 503 LIMITS_UNAVAILABLE until it responds", fields);
    return;
  }
  if (now - lastLoggedAt < REPEAT_LOG_INTERVAL_MS) {
    failuresNotLogged += 1;
    return;
  }
  logger.error("counter store still unreachable: request rejected", {
    ...fields,
    outageSeconds: Math.round((now - outageStartedAt) / 1000),
    failuresNotLogged,
  });
  lastLoggedAt = now;
  failuresNotLogged = 0;
}

/** Ends an outage, if one is under way, and logs how long it lasted. */
export function recordStoreSuccess(): void {
  if (outageStartedAt === null) return;
  logger.info("counter store reachable again: admitting LLM requests", {
    outageSeconds: Math.round((Date.now() - outageStartedAt) / 1000),
    failuresNotLogged,
  });
  outageStartedAt = null;
  failuresNotLogged = 0;
}
