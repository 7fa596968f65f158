import path from "node:path";
import { mkdir } from "node:fs/promises";
import { sql, type SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { getConfig } from "@/lib/config";
import { lockDataFolder } from "@/lib/db/pglite-lock";
import * as schema from "@/lib/db/schema";

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

type Connection = { db: Database; close: () => Promise<void> };

const MIGRATIONS_FOLDER = path.join(process.cwd(), "drizzle");
// Any constant works: it only has to be the same in every app instance that migrates this database.
const MIGRATION_LOCK_KEY = 7_317_001;

async function connectPostgres(url: string): Promise<Connection> {
  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const { migrate } = await import("drizzle-orm/postgres-js/migrator");

  // Migrate on a single dedicated connection holding an advisory lock, so two instances starting
  // together do not both apply the same migration.
  const migrationClient = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrationClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migrate(drizzle(migrationClient), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrationClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
  } finally {
    await migrationClient.end();
  }

  const client = postgres(url, { max: 10, onnotice: () => {} });
  return { db: drizzle(client, { schema }) as unknown as Database, close: () => client.end() };
}

async function connectPglite(dir: string): Promise<Connection> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { drizzle } = await import("drizzle-orm/pglite");
  const { migrate } = await import("drizzle-orm/pglite/migrator");

  // PGlite does not create the parent of its data folder. `memory://` keeps everything in memory.
  if (!dir.startsWith("memory://")) {
    await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
    lockDataFolder(dir);
  }
  const client = new PGlite(dir);
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db: db as unknown as Database, close: () => client.close() };
}

// Kept on globalThis so that hot reload in development reuses the one PGlite instance: two
// instances on one data folder silently lose writes.
const holder = globalThis as unknown as { tollgateDatabase?: Promise<Connection> };

/** Returns the database, connecting and applying pending migrations on first use. */
export async function getDb(): Promise<Database> {
  if (!holder.tollgateDatabase) {
    const { database } = getConfig();
    const connecting = database.kind === "postgres" ? connectPostgres(database.url) : connectPglite(database.dir);
    holder.tollgateDatabase = connecting;
    // A failed start is not cached: the next request tries again.
    connecting.catch(() => {
      if (holder.tollgateDatabase === connecting) holder.tollgateDatabase = undefined;
    });
  }
  return (await holder.tollgateDatabase).db;
}

/** Closes the connection; the next `getDb` opens a new one. */
export async function closeDb(): Promise<void> {
  const connecting = holder.tollgateDatabase;
  holder.tollgateDatabase = undefined;
  if (connecting) await (await connecting).close();
}

/** Runs raw SQL and returns its rows; postgres.js and PGlite shape their results differently. */
export async function queryRows<Row>(db: Database, query: SQL): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown as Row[] | { rows: Row[] };
  return Array.isArray(result) ? result : result.rows;
}

type DriverClient =
  | { unsafe: (text: string, params: unknown[], options: { prepare: boolean }) => Promise<unknown[]> }
  | { query: (text: string, params: unknown[]) => Promise<{ rows: unknown[] }> };

/**
 * Runs one statement with positional parameters ($1, $2, ...) on the driver as a prepared
 * statement, so PostgreSQL plans it once per connection and Drizzle builds no query. Meant for
 * the statements of every LLM request. `text` must be a constant, with every value in `params`.
 */
export async function runPrepared<Row>(db: Database, text: string, params: unknown[]): Promise<Row[]> {
  const client = (db as unknown as { $client?: DriverClient }).$client;
  if (!client) throw new Error("runPrepared was given a transaction, which has no driver client. Pass the database itself.");
  if ("unsafe" in client) return (await client.unsafe(text, params, { prepare: true })) as Row[];
  return (await client.query(text, params)).rows as Row[];
}

export { sql };
