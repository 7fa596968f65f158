import { queryRows, sql, type Database } from "@/lib/db/client";
import { logger } from "@/lib/log";
import {
  countersAfterAdmission,
  dayCountersExpireAt,
  decideReservation,
  MINUTE_MS,
  snapshotOf,
  spendCapRejection,
  utcDay,
  type CounterStore,
  type ReserveResult,
  type UserCounters,
} from "@/lib/limits/store";

// Each reservation deletes its own user's stale rows. Rows of users who never come back are
// deleted by a sweep that one reservation per interval starts, in each app instance.
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;

type CountersRow = {
  requests: number | null;
  tokens: number | string | null;
  minute_count: number | string;
  oldest: Date | string | null;
};

/** Reads a user's counters. Pass `requestsPerMinute` to also find the request that blocks a full window. */
async function readUserCounters(db: Database, input: { userId: string; now: Date; requestsPerMinute?: number }): Promise<UserCounters> {
  const { userId, now } = input;
  const windowStart = new Date(now.getTime() - MINUTE_MS).toISOString();
  const [row] = await queryRows<CountersRow>(
    db,
    sql`select
          (select requests from limit_counters where user_id = ${userId} and day = ${utcDay(now)}) as requests,
          (select tokens from limit_counters where user_id = ${userId} and day = ${utcDay(now)}) as tokens,
          count(*) as minute_count,
          min(at) as oldest
        from rate_events where user_id = ${userId} and at > ${windowStart}`,
  );
  const requestsThisMinute = Number(row?.minute_count ?? 0);

  let blockingInMinute: Date | null = null;
  if (input.requestsPerMinute !== undefined && requestsThisMinute >= input.requestsPerMinute) {
    const [blocking] = await queryRows<{ at: Date | string }>(
      db,
      sql`select at from rate_events where user_id = ${userId} and at > ${windowStart}
          order by at offset ${requestsThisMinute - input.requestsPerMinute} limit 1`,
    );
    blockingInMinute = blocking ? new Date(blocking.at) : null;
  }

  return {
    requestsThisMinute,
    oldestInMinute: row?.oldest ? new Date(row.oldest) : null,
    blockingInMinute,
    requestsToday: row?.requests ?? 0,
    tokensToday: Number(row?.tokens ?? 0),
  };
}

/**
 * Adds a cost to the app's spend for the day unless that would pass the cap, in one statement
 * that also records whether this check rejected. Returns whether the cost was added. The row lock
 * it takes is held until the caller's transaction commits, so keep it the last write.
 */
async function reserveAppSpend(db: Database, input: { day: string; costMicros: number; capMicros: number; expiresAt: Date }) {
  const { day, costMicros, capMicros, expiresAt } = input;
  const [row] = await queryRows<{ rejected: boolean }>(
    db,
    sql`insert into app_spend_counters as spend (day, spent_micros, last_check_rejected, expires_at)
        values (${day},
                case when ${costMicros}::bigint <= ${capMicros}::bigint then ${costMicros}::bigint else 0 end,
                ${costMicros}::bigint > ${capMicros}::bigint,
                ${expiresAt.toISOString()})
        on conflict (day) do update set
          spent_micros = case when spend.spent_micros + ${costMicros}::bigint <= ${capMicros}::bigint
                              then spend.spent_micros + ${costMicros}::bigint else spend.spent_micros end,
          last_check_rejected = spend.spent_micros + ${costMicros}::bigint > ${capMicros}::bigint
        returning last_check_rejected as rejected`,
  );
  return row?.rejected === false;
}

async function deleteExpiredRows(db: Database, now: Date): Promise<void> {
  await db.execute(sql`
    with expired_counters as (delete from limit_counters where expires_at < ${now.toISOString()}),
         expired_spend as (delete from app_spend_counters where expires_at < ${now.toISOString()})
    delete from rate_events where at <= ${new Date(now.getTime() - MINUTE_MS).toISOString()}`);
}

/**
 * Counters in PostgreSQL (or PGlite). A reservation is one transaction that first takes a
 * per-user advisory lock, so one user's reservations run one at a time across every app
 * instance. Different users wait on each other only with a spend cap, for the app-wide row,
 * which each reservation locks from its spend check to its commit.
 */
export function createPostgresStore(getDb: () => Promise<Database>): CounterStore {
  let lastSweepAt = 0;

  function sweepNowAndThen(db: Database, now: Date) {
    if (Date.now() - lastSweepAt < SWEEP_INTERVAL_MS) return;
    lastSweepAt = Date.now();
    deleteExpiredRows(db, now).catch((error: unknown) => logger.warn("deleting expired limit counters failed", { error }));
  }

  return {
    async reserve(input): Promise<ReserveResult> {
      const db = await getDb();
      const { userId, now } = input;
      const day = utcDay(now);
      const expiresAt = dayCountersExpireAt(now);

      const result = await db.transaction(async (tx): Promise<ReserveResult> => {
        const txDb = tx as unknown as Database;
        await txDb.execute(sql`select pg_advisory_xact_lock(hashtextextended(${userId}, 0))`);
        await txDb.execute(sql`
          with old_events as (
            delete from rate_events where user_id = ${userId} and at <= ${new Date(now.getTime() - MINUTE_MS).toISOString()}
          )
          delete from limit_counters where user_id = ${userId} and expires_at < ${now.toISOString()}`);

        const counters = await readUserCounters(txDb, { userId, now, requestsPerMinute: input.limits.requestsPerMinute });
        const decision = decideReservation(input, counters);
        if (!decision.admitted) {
          const { code, retryAfterSeconds } = decision;
          return { admitted: false, code, retryAfterSeconds, snapshot: snapshotOf(counters, now) };
        }

        // Both inserts run in one statement: a data-modifying WITH always runs to completion.
        const [event] = await queryRows<{ id: number | string }>(
          txDb,
          sql`with counted as (
                insert into limit_counters (user_id, day, requests, tokens, expires_at)
                values (${userId}, ${day}, 1, ${decision.reservedTokens}, ${expiresAt.toISOString()})
                on conflict (user_id, day) do update
                  set requests = limit_counters.requests + 1, tokens = limit_counters.tokens + excluded.tokens
              )
              insert into rate_events (user_id, at) values (${userId}, ${now.toISOString()}) returning id`,
        );

        let reservedCostMicros: number | null = null;
        if (input.spendCap) {
          const costMicros = input.spendCap.estimateCostMicros(decision.outputCap);
          const admitted = await reserveAppSpend(txDb, { day, costMicros, capMicros: input.spendCap.capMicros, expiresAt });
          if (!admitted) {
            // The user's writes are undone here rather than by a rollback, because the rejection
            // recorded on the spend row must persist.
            await txDb.execute(sql`
              with uncounted as (
                update limit_counters set requests = requests - 1, tokens = tokens - ${decision.reservedTokens}
                where user_id = ${userId} and day = ${day}
              )
              delete from rate_events where id = ${event!.id}`);
            return spendCapRejection(counters, now);
          }
          reservedCostMicros = costMicros;
        }

        return {
          admitted: true,
          reservation: { userId, day, reservedTokens: decision.reservedTokens, outputCap: decision.outputCap, reservedCostMicros },
          snapshot: snapshotOf(countersAfterAdmission(counters, decision.reservedTokens, now), now),
        };
      });

      sweepNowAndThen(db, now);
      return result;
    },

    async settle({ reservation, usedTokens, usedCostMicros }) {
      const tokenDifference = usedTokens - reservation.reservedTokens;
      const costDifference = reservation.reservedCostMicros === null ? 0 : usedCostMicros - reservation.reservedCostMicros;
      if (tokenDifference === 0 && costDifference === 0) return;

      const db = await getDb();
      const updateTokens = sql`
        update limit_counters set tokens = greatest(0, tokens + ${tokenDifference})
        where user_id = ${reservation.userId} and day = ${reservation.day}`;
      if (costDifference === 0) {
        await db.execute(updateTokens);
        return;
      }
      // Two statements in this order, not one WITH statement whose parts run in no set order:
      // reservations lock the user's row before the spend row, and so must this, or the two
      // could deadlock.
      await db.transaction(async (tx) => {
        await tx.execute(updateTokens);
        await tx.execute(sql`
          update app_spend_counters set spent_micros = greatest(0, spent_micros + ${costDifference})
          where day = ${reservation.day}`);
      });
    },

    async peek({ userId, now }) {
      const db = await getDb();
      return snapshotOf(await readUserCounters(db, { userId, now }), now);
    },

    async peekAppSpend({ now }) {
      const db = await getDb();
      const [row] = await queryRows<{ spent_micros: number | string; last_check_rejected: boolean }>(
        db,
        sql`select spent_micros, last_check_rejected from app_spend_counters where day = ${utcDay(now)}`,
      );
      return { spentMicros: Number(row?.spent_micros ?? 0), lastCheckRejected: row?.last_check_rejected ?? false };
    },
  };
}
