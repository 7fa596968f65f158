import { queryRows, sql, type Database } from "@/lib/db/client";
import {
  decideReservation,
  MINUTE_MS,
  nextUtcMidnight,
  utcDay,
  type CounterStore,
  type LimitSnapshot,
  type ReserveResult,
} from "@/lib/limits/store";

// A day's counter row outlives its day by one more day, so a call that started just before
// midnight can still settle against it.
const DAY_ROW_GRACE_MS = 24 * 60 * 60 * 1000;

type CounterRow = { requests: number; tokens: number | string };
type MinuteRow = { count: number | string; oldest: Date | string | null };

async function readCounters(db: Database, userId: string, now: Date) {
  const windowStart = new Date(now.getTime() - MINUTE_MS);
  const [day] = await queryRows<CounterRow>(
    db,
    sql`select requests, tokens from limit_counters where user_id = ${userId} and day = ${utcDay(now)}`,
  );
  const [minute] = await queryRows<MinuteRow>(
    db,
    sql`select count(*) as count, min(at) as oldest from rate_events
        where user_id = ${userId} and at > ${windowStart.toISOString()}`,
  );
  return {
    requestsToday: day?.requests ?? 0,
    tokensToday: Number(day?.tokens ?? 0),
    requestsThisMinute: Number(minute?.count ?? 0),
    oldestInMinute: minute?.oldest ? new Date(minute.oldest) : null,
  };
}

function snapshotOf(
  counters: Awaited<ReturnType<typeof readCounters>>,
  now: Date,
): LimitSnapshot {
  return {
    requestsThisMinute: counters.requestsThisMinute,
    requestsToday: counters.requestsToday,
    tokensToday: counters.tokensToday,
    minuteResetAt: counters.oldestInMinute ? new Date(counters.oldestInMinute.getTime() + MINUTE_MS) : null,
    dayResetAt: nextUtcMidnight(now),
  };
}

/**
 * Counters in PostgreSQL (or PGlite). A reservation is one transaction that first takes a
 * per-user advisory lock, so one user's reservations run one at a time across every app
 * instance, while different users never wait on each other.
 */
export function createPostgresStore(getDb: () => Promise<Database>): CounterStore {
  return {
    async reserve(input): Promise<ReserveResult> {
      const db = await getDb();
      const { userId, now } = input;
      const day = utcDay(now);

      return db.transaction(async (tx) => {
        const txDb = tx as unknown as Database;
        await txDb.execute(sql`select pg_advisory_xact_lock(hashtextextended(${userId}, 0))`);

        // Rows that have left their window are removed here, under the same lock.
        await txDb.execute(sql`delete from rate_events where user_id = ${userId} and at <= ${new Date(now.getTime() - MINUTE_MS).toISOString()}`);
        await txDb.execute(sql`delete from limit_counters where user_id = ${userId} and expires_at < ${now.toISOString()}`);

        const counters = await readCounters(txDb, userId, now);
        const decision = decideReservation(input, counters);
        if (!decision.admitted) {
          return { admitted: false, code: decision.code, retryAfterSeconds: decision.retryAfterSeconds, snapshot: snapshotOf(counters, now) };
        }

        const expiresAt = new Date(nextUtcMidnight(now).getTime() + DAY_ROW_GRACE_MS);
        await txDb.execute(sql`
          insert into limit_counters (user_id, day, requests, tokens, expires_at)
          values (${userId}, ${day}, 1, ${decision.reservedTokens}, ${expiresAt.toISOString()})
          on conflict (user_id, day) do update
            set requests = limit_counters.requests + 1, tokens = limit_counters.tokens + excluded.tokens`);
        await txDb.execute(sql`insert into rate_events (user_id, at) values (${userId}, ${now.toISOString()})`);

        const after = {
          requestsToday: counters.requestsToday + 1,
          tokensToday: counters.tokensToday + decision.reservedTokens,
          requestsThisMinute: counters.requestsThisMinute + 1,
          oldestInMinute: counters.oldestInMinute ?? now,
        };
        return {
          admitted: true,
          reservation: { userId, day, reservedTokens: decision.reservedTokens, outputCap: decision.outputCap },
          snapshot: snapshotOf(after, now),
        };
      });
    },

    async settle({ reservation, usedTokens }) {
      const db = await getDb();
      const difference = usedTokens - reservation.reservedTokens;
      if (difference === 0) return;
      await db.execute(sql`
        update limit_counters set tokens = greatest(0, tokens + ${difference})
        where user_id = ${reservation.userId} and day = ${reservation.day}`);
    },

    async peek({ userId, now }) {
      const db = await getDb();
      return snapshotOf(await readCounters(db, userId, now), now);
    },
  };
}
