// Runs once when a server instance starts. The Node-only start-up lives in its own module,
// imported inside this check, so the Edge build never compiles the database client.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { startServer } = await import("@/lib/startup");
    await startServer();
  }
}
