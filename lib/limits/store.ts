import type { PlanLimits } from "@/lib/limits/plans";

export const MINUTE_MS = 60_000;

/** Which limit refused a request, in the HTTP contract's codes. */
export type LimitCode = "RATE_LIMITED" | "DAILY_REQUEST_LIMIT" | "DAILY_TOKEN_LIMIT";

/** What is left after a reservation (or at a refusal), for the X-RateLimit-* headers and the UI. */
export type LimitSnapshot = {
  requestsThisMinute: number;
  requestsToday: number;
  tokensToday: number;
  /** When the oldest request in the minute window leaves it; null when the window is empty. */
  minuteResetAt: Date | null;
  dayResetAt: Date;
};

export type ReserveInput = {
  userId: string;
  limits: PlanLimits;
  /** Estimated prompt tokens, chat framing included. */
  promptTokens: number;
  /** The output cap asked for; it is lowered to what the day's budget has left. */
  maxOutputTokens: number;
  /** Below this output cap the request is refused instead of being admitted with a useless cap. */
  minOutputTokens: number;
  now: Date;
};

export type Reservation = {
  userId: string;
  /** UTC day (YYYY-MM-DD) the tokens were reserved on; settlement goes to the same day. */
  day: string;
  reservedTokens: number;
  outputCap: number;
};

export type ReserveResult =
  | { admitted: true; reservation: Reservation; snapshot: LimitSnapshot }
  | { admitted: false; code: LimitCode; retryAfterSeconds: number; snapshot: LimitSnapshot };

/**
 * Where the counters live. Each method is one atomic step in the store, so limits hold exactly
 * however many requests and app instances run at once.
 */
export type CounterStore = {
  /** Checks every limit and, if all pass, counts the request and reserves its tokens. */
  reserve(input: ReserveInput): Promise<ReserveResult>;
  /** Replaces a reservation's tokens with the tokens really used (0 gives them all back). */
  settle(input: { reservation: Reservation; usedTokens: number }): Promise<void>;
  /** Reads today's counters without changing them. */
  peek(input: { userId: string; now: Date }): Promise<LimitSnapshot>;
};

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function nextUtcMidnight(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1));
}

/**
 * Decides a reservation from the counters as they stand, the same way in every store: the first
 * limit that fails refuses it, with the seconds until that limit frees up.
 */
export function decideReservation(
  input: ReserveInput,
  counters: { requestsThisMinute: number; oldestInMinute: Date | null; requestsToday: number; tokensToday: number },
): { admitted: true; outputCap: number; reservedTokens: number } | { admitted: false; code: LimitCode; retryAfterSeconds: number } {
  const { limits, now } = input;
  const secondsUntil = (date: Date) => Math.max(1, Math.ceil((date.getTime() - now.getTime()) / 1000));

  if (counters.requestsThisMinute >= limits.requestsPerMinute) {
    const frees = new Date((counters.oldestInMinute ?? now).getTime() + MINUTE_MS);
    return { admitted: false, code: "RATE_LIMITED", retryAfterSeconds: secondsUntil(frees) };
  }
  if (counters.requestsToday >= limits.requestsPerDay) {
    return { admitted: false, code: "DAILY_REQUEST_LIMIT", retryAfterSeconds: secondsUntil(nextUtcMidnight(now)) };
  }

  const tokensLeft = limits.tokensPerDay - counters.tokensToday;
  const outputCap = Math.min(input.maxOutputTokens, tokensLeft - input.promptTokens);
  if (outputCap < input.minOutputTokens) {
    return { admitted: false, code: "DAILY_TOKEN_LIMIT", retryAfterSeconds: secondsUntil(nextUtcMidnight(now)) };
  }
  return { admitted: true, outputCap, reservedTokens: input.promptTokens + outputCap };
}
