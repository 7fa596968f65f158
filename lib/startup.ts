import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { logger } from "@/lib/log";

/**
 * Validates the configuration and applies pending migrations before any request is served, so
 * an invalid variable stops start-up with a message naming it instead of failing a request.
 */
export async function startServer(): Promise<void> {
  const config = getConfig();
  await getDb();
  logger.info("tollgate ready", {
    database: config.database.kind,
    model: config.llm.kind === "demo" ? "demo" : config.llm.model,
  });
}
