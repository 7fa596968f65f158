import { queryRows, runPrepared, sql, type Database } from "@/lib/db/client";
import { logger } from "@/lib/log";
import { insertUsageRowAndSettle } from "@/lib/usage/rows";
import {
  countersAfterAdmission,
  dayCountersExpireAt,
  decideReservation,
  MINUTE_MS,
  snapshotOf,
  spendCapRejection,
  utcDay,
  type CounterStore,
  type ReserveInput,
  type ReserveResult,
  type Settlement,
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

/** Reads a user's counters without the request that blocks a full window, which only a reservation needs. */
async function readUserCounters(db: Database, input: { userId: string; now: Date }): Promise<UserCounters> {
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
  return {
    requestsThisMinute: Number(row?.minute_count ?? 0),
    oldestInMinute: row?.oldest ? new Date(row.oldest) : null,
    blockingInMinute: null,
    requestsToday: row?.requests ?? 0,
    tokensToday: Number(row?.tokens ?? 0),
  };
}

type ReserveRow = {
  outcome: "admitted" | "rejected" | "spend_rejected" | "reprice";
  requests_this_minute: number;
  oldest_in_minute: Date | string | null;
  blocking_in_minute: Date | string | null;
  requests_today: number;
  tokens_today: number | string;
  output_cap: number;
};

// A reservation with a spend cap is priced for the output cap it will get. When the day's budget
// clamps that cap, the database returns the clamped cap, and the store prices it and calls again.
// A second call fails only if the same user's parallel requests changed the budget in between.
const MAX_PRICING_ATTEMPTS = 5;

const RESERVE_STATEMENT = `select * from tollgate_reserve($1::uuid, $2::text, $3::timestamptz, $4::timestamptz,
  $5::timestamptz, $6::integer, $7::integer, $8::bigint, $9::integer, $10::integer, $11::integer, $12::bigint, $13::bigint,
  $14::integer)`;

/**
 * Runs one reservation as a single call of tollgate_reserve (drizzle/*_reserve_functions.sql),
 * so it takes one round trip: the function locks the user, deletes stale rows, reads the
 * counters, decides and writes in the statement's own transaction.
 */
async function callReserve(db: Database, input: ReserveInput, cost: { micros: number; outputCap: number } | null): Promise<ReserveRow> {
  const { userId, limits, now } = input;
  const [row] = await runPrepared<ReserveRow>(db, RESERVE_STATEMENT, [
    userId,
    utcDay(now),
    now.toISOString(),
    new Date(now.getTime() - MINUTE_MS).toISOString(),
    dayCountersExpireAt(now).toISOString(),
    limits.requestsPerMinute,
    limits.requestsPerDay,
    limits.tokensPerDay,
    input.promptTokens,
    input.maxOutputTokens,
    input.minOutputTokens,
    input.spendCap ? input.spendCap.capMicros : null,
    cost ? cost.micros : null,
    cost ? cost.outputCap : null,
  ]);
  if (!row) throw new Error("tollgate_reserve returned no row.");
  return row;
}

function countersOf(row: ReserveRow): UserCounters {
  return {
    requestsThisMinute: Number(row.requests_this_minute),
    oldestInMinute: row.oldest_in_minute ? new Date(row.oldest_in_minute) : null,
    blockingInMinute: row.blocking_in_minute ? new Date(row.blocking_in_minute) : null,
    requestsToday: Number(row.requests_today),
    tokensToday: Number(row.tokens_today),
  };
}

async function deleteExpiredRows(db: Database, now: Date): Promise<void> {
  await db.execute(sql`
    with expired_counters as (delete from limit_counters where expires_at < ${now.toISOString()}),
         expired_spend as (delete from app_spend_counters where expires_at < ${now.toISOString()})
    delete from rate_events where at <= ${new Date(now.getTime() - MINUTE_MS).toISOString()}`);
}

/** Returns how much a settlement changes the reserved tokens and the reserved cost. */
function settlementDifferences({ reservation, usedTokens, usedCostMicros }: Settlement) {
  return {
    tokenDifference: usedTokens - reservation.reservedTokens,
    costDifference: reservation.reservedCostMicros === null ? 0 : usedCostMicros - reservation.reservedCostMicros,
  };
}

/**
 * Counters in PostgreSQL (or PGlite). A reservation is one call of tollgate_reserve, whose
 * statement first takes a per-user advisory lock, so one user's reservations run one at a time
 * across every app instance. Different users wait on each other only with a spend cap, for the
 * app-wide row, which each reservation locks from its spend check to its commit.
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

      // With a spend cap, the cost sent is the estimate for the output cap the request would get.
      let cost = input.spendCap ? { micros: input.spendCap.estimateCostMicros(input.maxOutputTokens), outputCap: input.maxOutputTokens } : null;
      let row = await callReserve(db, input, cost);
      for (let attempt = 1; row.outcome === "reprice" && attempt < MAX_PRICING_ATTEMPTS; attempt++) {
        cost = { micros: input.spendCap!.estimateCostMicros(row.output_cap), outputCap: row.output_cap };
        row = await callReserve(db, input, cost);
      }
      if (row.outcome === "reprice") {
        throw new Error(`The reservation's output cap changed on each of ${MAX_PRICING_ATTEMPTS} tries; the user's budget is changing too fast to price it.`);
      }

      const counters = countersOf(row);
      const decision = decideReservation(input, counters);
      const admittedByDatabase = row.outcome !== "rejected";
      if (admittedByDatabase !== decision.admitted) {
        // tollgate_reserve and decideReservation apply the same test, so a difference is a bug in one of them.
        throw new Error(`tollgate_reserve ${admittedByDatabase ? "admitted" : "rejected"} a request that decideReservation did not.`);
      }
      sweepNowAndThen(db, now);

      if (!decision.admitted) {
        const { code, retryAfterSeconds } = decision;
        return { admitted: false, code, retryAfterSeconds, snapshot: snapshotOf(counters, now) };
      }
      if (row.outcome === "spend_rejected") return spendCapRejection(counters, now);

      return {
        admitted: true,
        reservation: {
          userId,
          day: utcDay(now),
          reservedTokens: decision.reservedTokens,
          outputCap: decision.outputCap,
          reservedCostMicros: cost ? cost.micros : null,
        },
        snapshot: snapshotOf(countersAfterAdmission(counters, decision.reservedTokens, now), now),
      };
    },

    async settle(settlement) {
      const { reservation } = settlement;
      const { tokenDifference, costDifference } = settlementDifferences(settlement);
      if (tokenDifference === 0 && costDifference === 0) return;

      const db = await getDb();
      if (costDifference === 0) {
        await db.execute(sql`
          update limit_counters set tokens = greatest(0, tokens + ${tokenDifference})
          where user_id = ${reservation.userId} and day = ${reservation.day}`);
        return;
      }
      // One call, not a transaction of two updates: tollgate_settle updates the user's row
      // before the spend row, the order in which reservations lock them.
      await db.execute(sql`select tollgate_settle(
        ${reservation.userId}::uuid, ${reservation.day}::text, ${tokenDifference}::bigint, ${costDifference}::bigint)`);
    },

    async settleWithUsageRow({ usageRow, ...settlement }) {
      if (usageRow.userId !== settlement.reservation.userId) {
        throw new Error("A usage row can only be written with the settlement of its own user's reservation.");
      }
      const db = await getDb();
      const settled = { day: settlement.reservation.day, ...settlementDifferences(settlement) };
      await insertUsageRowAndSettle(db, { row: usageRow, settlement: settled });
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
