import type { PlanLimits } from "@/lib/limits/plans";
import type { UsageRowInput } from "@/lib/usage/rows";

export const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The limit that rejected a request, as an HTTP contract code. */
export type LimitCode = "RATE_LIMITED" | "DAILY_REQUEST_LIMIT" | "DAILY_TOKEN_LIMIT" | "SPEND_CAP_REACHED";

/** What is left after a reservation (or at a rejection), for the X-RateLimit-* headers and the UI. */
export type LimitSnapshot = {
  requestsThisMinute: number;
  requestsToday: number;
  tokensToday: number;
  /** When the oldest request in the minute window leaves it; null when the window is empty. */
  minuteResetAt: Date | null;
  dayResetAt: Date;
};

/** One user's counters as a store reads them, before a reservation changes them. */
export type UserCounters = {
  requestsThisMinute: number;
  /** Admission time of the oldest request in the minute window, or null when the window is empty. */
  oldestInMinute: Date | null;
  /**
   * Admission time whose leaving the full window makes room for one more request. It is the
   * oldest one unless a lowered plan left more requests in the window than the plan allows.
   * Null when the window has room.
   */
  blockingInMinute: Date | null;
  requestsToday: number;
  tokensToday: number;
};

/** The app-wide daily spend cap that a reservation is also checked against. */
export type SpendCapCheck = {
  capMicros: number;
  /** The request's estimated cost in micro-dollars with a given output cap. */
  estimateCostMicros: (outputCap: number) => number;
};

export type ReserveInput = {
  userId: string;
  limits: PlanLimits;
  /** Estimated prompt tokens, chat framing included. */
  promptTokens: number;
  /** The output cap asked for; it is lowered to what the day's budget has left. */
  maxOutputTokens: number;
  /** Below this output cap the request is rejected instead of being admitted with a useless cap. */
  minOutputTokens: number;
  now: Date;
  /** Present when the app has a daily spend cap. */
  spendCap?: SpendCapCheck;
};

export type Reservation = {
  userId: string;
  /** UTC day (YYYY-MM-DD) the tokens were reserved on; settlement goes to the same day. */
  day: string;
  reservedTokens: number;
  outputCap: number;
  /** Estimated cost held against the app-wide spend cap, or null when the app has no cap. */
  reservedCostMicros: number | null;
};

export type ReserveResult =
  | { admitted: true; reservation: Reservation; snapshot: LimitSnapshot }
  | { admitted: false; code: LimitCode; retryAfterSeconds: number; snapshot: LimitSnapshot };

export type Settlement = {
  reservation: Reservation;
  /** Tokens the call really used. 0 gives the whole reservation back. */
  usedTokens: number;
  /** Real cost of the call in micro-dollars, which replaces the reserved estimate. */
  usedCostMicros: number;
};

/** Today's app-wide spend counter: settled costs plus the estimates of calls still running. */
export type AppSpend = {
  spentMicros: number;
  /** Whether the latest reservation checked against the cap today was rejected. */
  lastCheckRejected: boolean;
};

/**
 * Storage of the limit counters. `reserve` and `settle` are each atomic per user, so the limits
 * hold exactly however many requests and app instances run at once.
 */
export type CounterStore = {
  /** Checks every limit and, if all pass, counts the request and reserves its tokens and cost. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Replaces a reservation's tokens and cost with what the call really used. */
  settle(input: Settlement): Promise<void>;
  /**
   * Settles and writes the call's usage row in one atomic step. Only a store whose counters live
   * in the usage rows' database has it; callers of other stores settle and write the row apart.
   */
  settleWithUsageRow?(input: Settlement & { usageRow: UsageRowInput }): Promise<void>;
  /** Reads a user's counters without changing them. */
  peek(input: { userId: string; now: Date }): Promise<LimitSnapshot>;
  /** Reads the app-wide spend counter of the UTC day of `now`. */
  peekAppSpend(input: { now: Date }): Promise<AppSpend>;
};

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function nextUtcMidnight(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1));
}

/**
 * Returns when a day's counters may be deleted: one day after the day ends, so a call that
 * started just before midnight can still settle against them.
 */
export function dayCountersExpireAt(now: Date): Date {
  return new Date(nextUtcMidnight(now).getTime() + DAY_MS);
}

/** Whole seconds from `now` until `date`, at least 1, as Retry-After wants them. */
export function secondsUntil(date: Date, now: Date): number {
  return Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));
}

export type ReservationDecision =
  | { admitted: true; outputCap: number; reservedTokens: number }
  | { admitted: false; code: Exclude<LimitCode, "SPEND_CAP_REACHED">; retryAfterSeconds: number };

/**
 * Decides a reservation from the counters as they stand, the same way in every store. When
 * several limits fail, the rejection names the one that frees up last, so that Retry-After is the
 * wait until the request could pass (on a tie, the daily limit is named).
 */
export function decideReservation(input: ReserveInput, counters: UserCounters): ReservationDecision {
  const { limits, now } = input;
  const rejections: Array<{ code: Exclude<LimitCode, "SPEND_CAP_REACHED">; retryAfterSeconds: number }> = [];

  if (counters.requestsToday >= limits.requestsPerDay) {
    rejections.push({ code: "DAILY_REQUEST_LIMIT", retryAfterSeconds: secondsUntil(nextUtcMidnight(now), now) });
  }

  const tokensLeft = limits.tokensPerDay - counters.tokensToday;
  const outputCap = Math.min(input.maxOutputTokens, tokensLeft - input.promptTokens);
  if (outputCap < input.minOutputTokens) {
    rejections.push({ code: "DAILY_TOKEN_LIMIT", retryAfterSeconds: secondsUntil(nextUtcMidnight(now), now) });
  }

  if (counters.requestsThisMinute >= limits.requestsPerMinute) {
    // A parallel request that read the clock after this one can be admitted before it, so the
    // window may hold a time later than `now`. That time has passed by the time this request
    // reads it, so the wait is counted from `now` at the latest and never exceeds a minute.
    const counted = counters.blockingInMinute ?? counters.oldestInMinute ?? now;
    const blocking = counted.getTime() > now.getTime() ? now : counted;
    rejections.push({ code: "RATE_LIMITED", retryAfterSeconds: secondsUntil(new Date(blocking.getTime() + MINUTE_MS), now) });
  }

  const latest = rejections.reduce<(typeof rejections)[number] | undefined>(
    (chosen, rejection) => (chosen && chosen.retryAfterSeconds >= rejection.retryAfterSeconds ? chosen : rejection),
    undefined,
  );
  if (latest) return { admitted: false, ...latest };
  return { admitted: true, outputCap, reservedTokens: input.promptTokens + outputCap };
}

/** Builds the snapshot of counters; pass the counters as they stand after the decision. */
export function snapshotOf(counters: UserCounters, now: Date): LimitSnapshot {
  return {
    requestsThisMinute: counters.requestsThisMinute,
    requestsToday: counters.requestsToday,
    tokensToday: counters.tokensToday,
    minuteResetAt: counters.oldestInMinute ? new Date(counters.oldestInMinute.getTime() + MINUTE_MS) : null,
    dayResetAt: nextUtcMidnight(now),
  };
}

/** Returns the counters as an admission leaves them. */
export function countersAfterAdmission(counters: UserCounters, reservedTokens: number, now: Date): UserCounters {
  return {
    requestsThisMinute: counters.requestsThisMinute + 1,
    oldestInMinute: counters.oldestInMinute ?? now,
    blockingInMinute: null,
    requestsToday: counters.requestsToday + 1,
    tokensToday: counters.tokensToday + reservedTokens,
  };
}

/** Builds the rejection for a request that passed the user's limits but not the app's spend cap. */
export function spendCapRejection(counters: UserCounters, now: Date): ReserveResult {
  return {
    admitted: false,
    code: "SPEND_CAP_REACHED",
    retryAfterSeconds: secondsUntil(nextUtcMidnight(now), now),
    snapshot: snapshotOf(counters, now),
  };
}
