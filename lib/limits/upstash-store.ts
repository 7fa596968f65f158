import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
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
  type ReserveInput,
  type ReserveResult,
  type UserCounters,
} from "@/lib/limits/store";
import {
  ADJUST_COUNTER_SCRIPT,
  PEEK_SCRIPT,
  RESERVE_SCRIPT,
  RESERVE_SPEND_SCRIPT,
  UNDO_RESERVATION_SCRIPT,
} from "@/lib/limits/upstash-script";
import { createUpstashHttpRequester } from "@/lib/limits/upstash-http";

// A reservation waits at most this long for Redis before the gate rejects the request with 503.
const REQUEST_TIMEOUT_MS = 3_000;

export type UpstashStoreOptions = {
  url: string;
  token: string;
  /** Namespace of every key, so that several apps or environments can share one database. */
  keyPrefix: string;
};

/**
 * Builds the key names. A user's keys carry the hash tag `{userId}`, so Redis Cluster puts them
 * in one slot and one script may touch them all. The app-wide spend key has a slot of its own.
 */
export function upstashKeys(keyPrefix: string) {
  return {
    minuteWindow: (userId: string) => `${keyPrefix}:user:{${userId}}:minute`,
    dayCounters: (userId: string, day: string) => `${keyPrefix}:user:{${userId}}:day:${day}`,
    appSpend: (day: string) => `${keyPrefix}:spend:${day}`,
  };
}

type ReserveReply = [number, number, string | number, string | number, number, number, number];

function timeOrNull(score: string | number): Date | null {
  const milliseconds = Number(score);
  return milliseconds < 0 ? null : new Date(milliseconds);
}

function ttlUntil(date: Date, now: Date): number {
  return Math.max(1, date.getTime() - now.getTime());
}

/**
 * Counters in Upstash Redis, through its REST API. A user's reservation and settlement are each
 * one Lua script. With a spend cap, reserving is two steps, because the app-wide spend key is in
 * another slot: first the user's script, then the spend script. If the spend script rejects or
 * fails, a third script takes the user's admission back, so a request rejected by the cap uses
 * none of the user's quota. Until then, that admission counts against the user for a moment,
 * which can only reject a parallel request of the same user, never admit one too many.
 */
export function createUpstashStore(options: UpstashStoreOptions): CounterStore {
  // One quick retry covers a dropped keep-alive connection. A longer wait would hold the
  // person's request while the gate cannot admit it anyway.
  const redis = new Redis(createUpstashHttpRequester({ url: options.url, token: options.token, timeoutMs: REQUEST_TIMEOUT_MS, retryDelayMs: 100 }));
  const keys = upstashKeys(options.keyPrefix);
  // createScript sends EVALSHA, and EVAL with the whole script when Redis returns NOSCRIPT.
  const reserveScript = redis.createScript<ReserveReply>(RESERVE_SCRIPT);
  const undoScript = redis.createScript<number>(UNDO_RESERVATION_SCRIPT);
  const adjustScript = redis.createScript<number>(ADJUST_COUNTER_SCRIPT);
  const reserveSpendScript = redis.createScript<[number, number]>(RESERVE_SPEND_SCRIPT);
  const peekScript = redis.createScript<[number, string | number, number, number]>(PEEK_SCRIPT);

  async function undoAdmission(input: { userId: string; day: string; member: string; reservedTokens: number }) {
    await undoScript.exec(
      [keys.minuteWindow(input.userId), keys.dayCounters(input.userId, input.day)],
      [input.member, String(input.reservedTokens)],
    );
  }

  async function reserveSpend(input: ReserveInput, outputCap: number, day: string) {
    const spendCap = input.spendCap!;
    const costMicros = spendCap.estimateCostMicros(outputCap);
    const [admitted] = await reserveSpendScript.exec(
      [keys.appSpend(day)],
      [String(costMicros), String(spendCap.capMicros), String(ttlUntil(dayCountersExpireAt(input.now), input.now))],
    );
    return { admitted: Number(admitted) === 1, costMicros };
  }

  return {
    async reserve(input): Promise<ReserveResult> {
      const { userId, limits, now } = input;
      const day = utcDay(now);
      const member = `${now.getTime()}:${randomUUID()}`;

      const reply = await reserveScript.exec(
        [keys.minuteWindow(userId), keys.dayCounters(userId, day)],
        [
          String(now.getTime()),
          String(MINUTE_MS),
          member,
          String(limits.requestsPerMinute),
          String(limits.requestsPerDay),
          String(limits.tokensPerDay),
          String(input.promptTokens),
          String(input.maxOutputTokens),
          String(input.minOutputTokens),
          String(ttlUntil(dayCountersExpireAt(now), now)),
        ],
      );
      const counters: UserCounters = {
        requestsThisMinute: Number(reply[1]),
        oldestInMinute: timeOrNull(reply[2]),
        blockingInMinute: timeOrNull(reply[3]),
        requestsToday: Number(reply[4]),
        tokensToday: Number(reply[5]),
      };

      const decision = decideReservation(input, counters);
      const admittedByScript = Number(reply[0]) === 1;
      if (admittedByScript !== decision.admitted) {
        // The script and decideReservation apply the same test, so a difference is a bug in one of them.
        throw new Error(`The reserve script ${admittedByScript ? "admitted" : "rejected"} a request that decideReservation did not.`);
      }
      if (!decision.admitted) {
        const { code, retryAfterSeconds } = decision;
        return { admitted: false, code, retryAfterSeconds, snapshot: snapshotOf(counters, now) };
      }

      let reservedCostMicros: number | null = null;
      if (input.spendCap) {
        let spend;
        try {
          spend = await reserveSpend(input, decision.outputCap, day);
        } catch (error) {
          await undoAdmission({ userId, day, member, reservedTokens: decision.reservedTokens }).catch((undoError: unknown) =>
            logger.error("undoing an admission failed after the spend check failed", { userId, error: undoError }),
          );
          throw error;
        }
        if (!spend.admitted) {
          try {
            await undoAdmission({ userId, day, member, reservedTokens: decision.reservedTokens });
          } catch (error) {
            // The request is rejected all the same. The user is charged one request and its
            // reserved tokens until the day ends.
            logger.error("undoing an admission rejected by the spend cap failed", { userId, error });
          }
          return spendCapRejection(counters, now);
        }
        reservedCostMicros = spend.costMicros;
      }

      return {
        admitted: true,
        reservation: { userId, day, reservedTokens: decision.reservedTokens, outputCap: decision.outputCap, reservedCostMicros },
        snapshot: snapshotOf(countersAfterAdmission(counters, decision.reservedTokens, now), now),
      };
    },

    async settle({ reservation, usedTokens, usedCostMicros }) {
      const tokenDifference = usedTokens - reservation.reservedTokens;
      const costDifference = reservation.reservedCostMicros === null ? 0 : usedCostMicros - reservation.reservedCostMicros;

      // The two scripts touch keys in different slots, so they are two steps. The client sends
      // them in one HTTP request when they start together.
      const steps: Array<Promise<number>> = [];
      if (tokenDifference !== 0) {
        steps.push(adjustScript.exec([keys.dayCounters(reservation.userId, reservation.day)], ["tokens", String(tokenDifference)]));
      }
      if (costDifference !== 0) {
        steps.push(adjustScript.exec([keys.appSpend(reservation.day)], ["spent", String(costDifference)]));
      }
      await Promise.all(steps);
    },

    async peek({ userId, now }) {
      const [requestsThisMinute, oldest, requestsToday, tokensToday] = await peekScript.exec(
        [keys.minuteWindow(userId), keys.dayCounters(userId, utcDay(now))],
        [String(now.getTime() - MINUTE_MS)],
      );
      return snapshotOf(
        {
          requestsThisMinute: Number(requestsThisMinute),
          oldestInMinute: timeOrNull(oldest),
          blockingInMinute: null,
          requestsToday: Number(requestsToday),
          tokensToday: Number(tokensToday),
        },
        now,
      );
    },

    async peekAppSpend({ now }) {
      // The client turns HMGET's reply into an object, and each numeric value into a number.
      const reply = await redis.hmget<{ spent: number | string | null; rejected: number | string | null }>(keys.appSpend(utcDay(now)), "spent", "rejected");
      return { spentMicros: Number(reply?.spent ?? 0), lastCheckRejected: Number(reply?.rejected ?? 0) === 1 };
    },
  };
}
