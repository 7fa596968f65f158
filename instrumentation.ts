// Runs once when a server instance starts. Invalid configuration stops start-up here, with a
// message naming the variable, instead of failing on the first request; pending migrations are
// applied before any request is served.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;

  const { getConfig } = await import("@/lib/config");
  const { getDb } = await import("@/lib/db/client");
  const { logger } = await import("@/lib/log");

  const config = getConfig();
  await getDb();
  logger.info("tollgate ready", {
    database: config.database.kind,
    model: config.llm.kind === "demo" ? "demo" : config.llm.model,
  });
}
