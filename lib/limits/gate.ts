import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { logger } from "@/lib/log";
import type { PlanLimits } from "@/lib/limits/plans";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import { insertUsageRow } from "@/lib/usage/rows";
import type { CounterStore, LimitSnapshot, Reservation } from "@/lib/limits/store";

// A request whose output cap would fall below this is refused: an answer cut at a few tokens
// costs the user budget and tells them nothing.
export const MIN_OUTPUT_TOKENS = 16;

let defaultStore: CounterStore | undefined;

export function getCounterStore(): CounterStore {
  defaultStore ??= createPostgresStore(getDb);
  return defaultStore;
}

const LIMIT_MESSAGES = {
  RATE_LIMITED: (limits: PlanLimits) => `You have reached your plan's ${limits.requestsPerMinute} requests per minute.`,
  DAILY_REQUEST_LIMIT: (limits: PlanLimits) => `You have used all ${limits.requestsPerDay} of today's requests on your plan.`,
  DAILY_TOKEN_LIMIT: (limits: PlanLimits) =>
    `You have used today's ${limits.tokensPerDay.toLocaleString("en-US")} tokens on your plan, or this request would pass them.`,
};

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  if (seconds < 90 * 60) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}

/**
 * Builds the X-RateLimit-* headers. Remaining requests is the smaller of the minute's and the
 * day's, so the headers never promise more than will be admitted; Reset is the seconds until
 * the minute window next frees a request, or until the UTC day ends when the day is the bound.
 */
export function rateLimitHeaders(limits: PlanLimits, snapshot: LimitSnapshot, now: Date): Record<string, string> {
  const minuteLeft = Math.max(0, limits.requestsPerMinute - snapshot.requestsThisMinute);
  const dayLeft = Math.max(0, limits.requestsPerDay - snapshot.requestsToday);
  const tokensLeft = Math.max(0, limits.tokensPerDay - snapshot.tokensToday);
  const resetAt = minuteLeft <= dayLeft && snapshot.minuteResetAt ? snapshot.minuteResetAt : snapshot.dayResetAt;
  return {
    "X-RateLimit-Limit-Requests": String(limits.requestsPerMinute),
    "X-RateLimit-Remaining-Requests": String(Math.min(minuteLeft, dayLeft)),
    "X-RateLimit-Remaining-Tokens": String(tokensLeft),
    "X-RateLimit-Reset": String(Math.max(0, Math.ceil((resetAt.getTime() - now.getTime()) / 1000))),
  };
}

export type Admission = {
  reservation: Reservation;
  /** The output cap to send to the model: never more than the day's budget has left. */
  outputCap: number;
  headers: Record<string, string>;
};

/**
 * Admits one LLM request for a user, or throws the contract's error. Fails closed: when the
 * counters cannot be reached, no call may be made.
 */
export async function admitRequest(input: {
  userId: string;
  limits: PlanLimits;
  promptTokens: number;
  requestId: string;
  store?: CounterStore;
  now?: Date;
}): Promise<Admission> {
  const { userId, limits, promptTokens, requestId } = input;
  const store = input.store ?? getCounterStore();
  const now = input.now ?? new Date();

  if (promptTokens > limits.maxPromptTokens) {
    throw new ApiError(
      "PROMPT_TOO_LONG",
      `The message is about ${promptTokens} tokens with its history; your plan allows ${limits.maxPromptTokens} per request. Shorten it and try again.`,
    );
  }

  let result;
  try {
    result = await store.reserve({
      userId,
      limits,
      promptTokens,
      maxOutputTokens: limits.maxOutputTokens,
      minOutputTokens: MIN_OUTPUT_TOKENS,
      now,
    });
  } catch (error) {
    logger.error("counter store unavailable; request refused", { requestId, userId, error });
    throw new ApiError("LIMITS_UNAVAILABLE");
  }

  const headers = rateLimitHeaders(limits, result.snapshot, now);
  if (!result.admitted) {
    const message = `${LIMIT_MESSAGES[result.code](limits)} Try again in ${describeWait(result.retryAfterSeconds)}.`;
    throw new ApiError(result.code, message, { ...headers, "Retry-After": String(result.retryAfterSeconds) });
  }
  return { reservation: result.reservation, outputCap: result.reservation.outputCap, headers };
}

/**
 * Settles a reservation to the tokens really used. It runs in a `finally` after every call, so
 * a failed or stopped call gives back what it did not use. A settlement that fails is logged,
 * because the request itself already happened.
 */
export async function settleRequest(input: {
  reservation: Reservation;
  usedTokens: number;
  requestId: string;
  store?: CounterStore;
}): Promise<void> {
  const store = input.store ?? getCounterStore();
  try {
    await store.settle({ reservation: input.reservation, usedTokens: input.usedTokens });
  } catch (error) {
    logger.error("settling a reservation failed", { requestId: input.requestId, userId: input.reservation.userId, error });
  }
}

/**
 * Gives back a whole admission when the request fails before the model is called, and records
 * it as an error row, so the day's request count still equals the number of usage rows.
 */
export async function releaseAdmission(input: {
  admission: Admission;
  userId: string;
  requestId: string;
  feature: string;
  model: string;
}): Promise<void> {
  const { admission, userId, requestId, feature, model } = input;
  await settleRequest({ reservation: admission.reservation, usedTokens: 0, requestId });
  try {
    await insertUsageRow(await getDb(), {
      userId,
      requestId,
      feature,
      model,
      tokensIn: 0,
      tokensOut: 0,
      costMicros: 0,
      latencyMs: 0,
      status: "error",
      usageSource: "estimated",
    });
  } catch (error) {
    logger.error("writing the usage row failed", { requestId, userId, feature, error });
  }
}
