import { eq, sql } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { users } from "@/lib/db/schema";

export type User = typeof users.$inferSelect;

/** The user as the API returns it: never the password hash or token version. */
export type PublicUser = Pick<User, "id" | "email" | "name" | "plan" | "role"> & { createdAt: string };

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    plan: user.plan,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
  };
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Database, { email }: { email: string }): Promise<User | undefined> {
  const [user] = await db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, normaliseEmail(email)))
    .limit(1);
  return user;
}

export async function findUserById(db: Database, { id }: { id: string }): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return user;
}

/** Makes the user an admin if ADMIN_EMAILS lists their address; returns the user as stored. */
export async function applyAdminList(db: Database, user: User, adminEmails: Set<string>): Promise<User> {
  if (user.role === "admin" || !adminEmails.has(user.email)) return user;
  const [updated] = await db.update(users).set({ role: "admin" }).where(eq(users.id, user.id)).returning();
  return updated ?? user;
}

/** PostgreSQL's unique_violation, as postgres.js and PGlite both report it. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } } | null)?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  return code === "23505";
}
