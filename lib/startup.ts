import { googleRedirectUri } from "@/lib/auth/google";
import { ConfigError, getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { logger } from "@/lib/log";

/**
 * Validates the configuration and applies pending migrations before any request is served.
 * Next.js catches errors thrown by the instrumentation hook and keeps serving, so an invalid
 * configuration exits the process here, with a message naming the variable, rather than
 * answering every request with a 500.
 */
export async function startServer(): Promise<void> {
  let config;
  try {
    config = getConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`Tollgate cannot start. ${error.message}`);
    process.exit(1);
  }

  try {
    await getDb();
  } catch (error) {
    // The database may come up later: each request tries to connect again.
    logger.error("database unavailable at start-up; requests will retry", { database: config.database.kind, error });
    return;
  }
  logger.info("tollgate ready", {
    database: config.database.kind,
    model: config.llm.kind === "demo" ? "demo" : config.llm.model,
    googleSignIn: config.google ? config.google.issuer : "off",
    // The redirect URI must be registered with the provider exactly as it is logged here.
    ...(config.google ? { googleRedirectUri: googleRedirectUri(config.appUrl) } : {}),
  });
}
