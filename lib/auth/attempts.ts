import { createHash } from "node:crypto";
import { and, eq, gt, lt, sql } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { authAttempts } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";

/** A fixed-window limit on attempts of one kind, per subject (an account or a client address). */
export type AttemptRule = { name: string; limit: number; windowSeconds: number };

/**
 * Sign-in attempts that did not succeed, per account, whatever address they come from. A
 * successful sign-in gives its attempt back. An attacker can use this rule to lock an account
 * out of new sign-ins for one window; sessions that are already open are not affected.
 */
export const SIGN_IN_PER_ACCOUNT: AttemptRule = { name: "sign-in:account", limit: 10, windowSeconds: 15 * 60 };
/** Sign-in attempts that did not succeed, per client address (credential stuffing over many accounts). */
export const SIGN_IN_PER_ADDRESS: AttemptRule = { name: "sign-in:address", limit: 50, windowSeconds: 15 * 60 };
/** Sign-ups per client address: every account starts with a free plan's budget. */
export const SIGN_UP_PER_ADDRESS: AttemptRule = { name: "sign-up:address", limit: 10, windowSeconds: 60 * 60 };
/**
 * Rules used in place of the per-address rules when the client address is unknown (TRUST_PROXY
 * is 0). Each is one app-wide total, higher than any one address may use. A flood still stops,
 * and one noisy client does not cut off ordinary traffic.
 */
export const SIGN_IN_UNKNOWN_ADDRESSES: AttemptRule = { name: "sign-in:unknown-address", limit: 500, windowSeconds: 15 * 60 };
export const SIGN_UP_UNKNOWN_ADDRESSES: AttemptRule = { name: "sign-up:unknown-address", limit: 200, windowSeconds: 60 * 60 };

/** One counted attempt, with the window it was counted in, so it can be given back. */
export type CountedAttempt = { key: string; windowEndsAt: Date };

// Keys hold a hash, not the email address or IP address itself.
function attemptKey(rule: AttemptRule, subject: string): string {
  return `${rule.name}:${createHash("sha256").update(subject).digest("hex")}`;
}

async function countAttempt(db: Database, key: string, rule: AttemptRule, now: Date) {
  const nowSql = sql`${now.toISOString()}::timestamptz`;
  const windowEndsAt = new Date(now.getTime() + rule.windowSeconds * 1000);
  // One atomic upsert: a window that has ended starts again at 1, so N parallel attempts
  // against a limit of L are counted exactly and admit min(N, L).
  const [row] = await db
    .insert(authAttempts)
    .values({ key, attempts: 1, windowEndsAt })
    .onConflictDoUpdate({
      target: authAttempts.key,
      set: {
        attempts: sql`case when ${authAttempts.windowEndsAt} <= ${nowSql} then 1 else ${authAttempts.attempts} + 1 end`,
        windowEndsAt: sql`case when ${authAttempts.windowEndsAt} <= ${nowSql} then excluded.window_ends_at else ${authAttempts.windowEndsAt} end`,
      },
    })
    .returning({ attempts: authAttempts.attempts, windowEndsAt: authAttempts.windowEndsAt });
  return row!;
}

/**
 * Counts one attempt against each rule and subject, before the attempt is made. Throws 429
 * TOO_MANY_ATTEMPTS with Retry-After (seconds until the latest window ends) when any count is
 * over its limit. The attempts stay counted, so a client that keeps trying while blocked by one
 * rule keeps using up the others too.
 */
export async function reserveAttempts(
  db: Database,
  checks: Array<{ rule: AttemptRule; subject: string }>,
  now = new Date(),
): Promise<CountedAttempt[]> {
  // About one call in a hundred also clears out old counters, so the table does not grow forever.
  if (Math.random() < 0.01) await deleteExpiredAttempts(db, now);

  const counted: CountedAttempt[] = [];
  let retryAfterSeconds = 0;
  for (const { rule, subject } of checks) {
    const key = attemptKey(rule, subject);
    const row = await countAttempt(db, key, rule, now);
    counted.push({ key, windowEndsAt: row.windowEndsAt });
    if (row.attempts > rule.limit) {
      retryAfterSeconds = Math.max(retryAfterSeconds, Math.ceil((row.windowEndsAt.getTime() - now.getTime()) / 1000));
    }
  }

  if (retryAfterSeconds > 0) {
    throw new ApiError(
      "TOO_MANY_ATTEMPTS",
      `Too many attempts. Try again in ${formatMinutes(retryAfterSeconds)}.`,
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
  return counted;
}

/** Gives counted attempts back, unless their window has already ended and started again. */
export async function releaseAttempts(db: Database, attempts: CountedAttempt[]): Promise<void> {
  for (const { key, windowEndsAt } of attempts) {
    await db
      .update(authAttempts)
      .set({ attempts: sql`${authAttempts.attempts} - 1` })
      .where(and(eq(authAttempts.key, key), eq(authAttempts.windowEndsAt, windowEndsAt), gt(authAttempts.attempts, 0)));
  }
}

/** Deletes counters whose window ended more than a day ago; their keys would start at 1 again anyway. */
export async function deleteExpiredAttempts(db: Database, now = new Date()): Promise<void> {
  await db.delete(authAttempts).where(lt(authAttempts.windowEndsAt, new Date(now.getTime() - 24 * 60 * 60 * 1000)));
}

function formatMinutes(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
