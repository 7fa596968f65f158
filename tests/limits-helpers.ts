import { randomBytes } from "node:crypto";
import { getDb, type Database } from "@/lib/db/client";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import type { CounterStore } from "@/lib/limits/store";
import { createUpstashStore } from "@/lib/limits/upstash-store";

/**
 * Returns the counter store this Vitest project tests: Upstash when the project's setup file has
 * put a bridge into the environment, else the project's database (PGlite or PostgreSQL).
 */
export function testedStoreKind(): "upstash" | "postgres" {
  return process.env.UPSTASH_REDIS_REST_URL ? "upstash" : "postgres";
}

export function randomKeyPrefix(): string {
  return `test-${randomBytes(6).toString("hex")}`;
}

/**
 * Creates `count` stores that share their counters, as separate app instances would: separate
 * Upstash clients with one key prefix, or separate connections to one PostgreSQL database. On
 * PGlite, which is one database in this process, they share its single connection.
 */
export async function createSharedStores(count: number): Promise<{ stores: CounterStore[]; close: () => Promise<void> }> {
  if (testedStoreKind() === "upstash") {
    const keyPrefix = randomKeyPrefix();
    const stores = Array.from({ length: count }, () =>
      createUpstashStore({ url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN!, keyPrefix }),
    );
    return { stores, close: async () => {} };
  }

  await getDb();
  const url = process.env.DATABASE_URL;
  if (!url) {
    return { stores: Array.from({ length: count }, () => createPostgresStore(getDb)), close: async () => {} };
  }

  const { default: postgres } = await import("postgres");
  const { drizzle } = await import("drizzle-orm/postgres-js");
  const clients = Array.from({ length: count }, () => postgres(url, { max: 10, onnotice: () => {} }));
  const stores = clients.map((client) => {
    const db = drizzle(client) as unknown as Database;
    return createPostgresStore(async () => db);
  });
  return { stores, close: async () => void (await Promise.all(clients.map((client) => client.end()))) };
}

/**
 * Returns a time on a UTC day of its own in the future, so that a test of the app-wide spend
 * counter, which is shared by every user of a day, counts only its own spending.
 */
export function timeOnUnusedDay(): Date {
  const day = 400 + Math.floor(Math.random() * 20_000);
  return new Date(Date.UTC(2027, 0, day, 12));
}
