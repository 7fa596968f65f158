import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { logger } from "@/lib/log";
import { costMicros } from "@/lib/llm/models";
import type { PlanLimits } from "@/lib/limits/plans";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import { recordStoreFailure, recordStoreSuccess } from "@/lib/limits/store-outage";
import { createUpstashStore } from "@/lib/limits/upstash-store";
import { insertUsageRow, type UsageRowInput } from "@/lib/usage/rows";
import type { CounterStore, LimitCode, LimitSnapshot, Reservation, SpendCapCheck } from "@/lib/limits/store";

// A request whose output cap would fall below this is rejected: an answer cut at a few tokens
// costs the user budget and tells them nothing.
export const MIN_OUTPUT_TOKENS = 16;

let defaultStore: CounterStore | undefined;

/** Returns the configured counter store: Upstash Redis when its REST URL and token are set, else the database. */
export function getCounterStore(): CounterStore {
  if (!defaultStore) {
    const { counters } = getConfig();
    defaultStore = counters.kind === "upstash" ? createUpstashStore(counters) : createPostgresStore(getDb);
  }
  return defaultStore;
}

const LIMIT_MESSAGES: Record<LimitCode, (limits: PlanLimits) => string> = {
  RATE_LIMITED: (limits) => `You have reached your plan's ${limits.requestsPerMinute} requests per minute.`,
  DAILY_REQUEST_LIMIT: (limits) => `You have used all ${limits.requestsPerDay} of today's requests on your plan.`,
  DAILY_TOKEN_LIMIT: (limits) =>
    `You have used today's ${limits.tokensPerDay.toLocaleString("en-US")} tokens on your plan, or this request would pass them.`,
  SPEND_CAP_REACHED: () => "The app has reached its spending cap for today, so no model calls are made until midnight UTC.",
};

function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  if (seconds < 90 * 60) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.ceil(seconds / 3600)} hours`;
}

/**
 * Counts how many more requests like this one (same prompt, same output cap asked for) the day's
 * tokens would admit in a row. Each takes its prompt plus the full output cap while there is
 * room, and the last one may take a clamped cap of at least MIN_OUTPUT_TOKENS.
 */
function requestsTokensAdmit(tokensLeft: number, promptTokens: number, maxOutputTokens: number): number {
  const smallestReservation = promptTokens + MIN_OUTPUT_TOKENS;
  if (tokensLeft < smallestReservation) return 0;
  return Math.floor((tokensLeft - smallestReservation) / (promptTokens + maxOutputTokens)) + 1;
}

/**
 * Builds the X-RateLimit-* headers for a request of `promptTokens`. They never promise more than
 * will be admitted: remaining requests is how many more requests like this one would pass every
 * limit now, and remaining tokens is 0 once no request fits. Both can only grow as the minute
 * window slides and calls settle below their reservations. Reset is the seconds until the minute
 * window next frees a request when the minute is the bound, else until the UTC day ends.
 */
export function rateLimitHeaders(
  limits: PlanLimits,
  snapshot: LimitSnapshot,
  now: Date,
  promptTokens: number,
): Record<string, string> {
  const minuteLeft = Math.max(0, limits.requestsPerMinute - snapshot.requestsThisMinute);
  const dayLeft = Math.max(0, limits.requestsPerDay - snapshot.requestsToday);
  const tokensLeft = Math.max(0, limits.tokensPerDay - snapshot.tokensToday);
  const dayBound = Math.min(dayLeft, requestsTokensAdmit(tokensLeft, promptTokens, limits.maxOutputTokens));
  const resetAt = minuteLeft < dayBound && snapshot.minuteResetAt ? snapshot.minuteResetAt : snapshot.dayResetAt;
  return {
    "X-RateLimit-Limit-Requests": String(limits.requestsPerMinute),
    "X-RateLimit-Remaining-Requests": String(Math.min(minuteLeft, dayBound)),
    "X-RateLimit-Remaining-Tokens": String(tokensLeft <= MIN_OUTPUT_TOKENS ? 0 : tokensLeft),
    "X-RateLimit-Reset": String(Math.max(0, Math.ceil((resetAt.getTime() - now.getTime()) / 1000))),
  };
}

export type Admission = {
  reservation: Reservation;
  /** The output cap to send to the model: never more than the day's budget has left. */
  outputCap: number;
  headers: Record<string, string>;
  /** When the request was admitted: its usage row carries this time, so it counts on the same UTC day. */
  admittedAt: Date;
};

/**
 * Admits one LLM request for a user, or throws the contract's error. Every path that calls a
 * model comes through here with its own feature name ("chat", "title", ...). Fails closed: when
 * the counters cannot be reached, the request is rejected with 503 and no call may be made.
 */
export async function admitRequest(input: {
  userId: string;
  limits: PlanLimits;
  promptTokens: number;
  /** Model to call, whose price sizes the reservation against the app-wide spend cap. */
  model: string;
  feature: string;
  requestId: string;
  store?: CounterStore;
  now?: Date;
  /** Override of GLOBAL_DAILY_SPEND_CAP_USD in micro-dollars, or null for no cap. */
  spendCapMicros?: number | null;
}): Promise<Admission> {
  const { userId, limits, promptTokens, model, feature, requestId } = input;
  const store = input.store ?? getCounterStore();
  const now = input.now ?? new Date();
  const capMicros = input.spendCapMicros === undefined ? getConfig().spendCapMicros : input.spendCapMicros;

  if (promptTokens > limits.maxPromptTokens) {
    throw new ApiError(
      "PROMPT_TOO_LONG",
      `The message is about ${promptTokens} tokens with its history; your plan allows ${limits.maxPromptTokens} per request. Shorten it and try again.`,
    );
  }

  // Priced before anything is reserved, so a model without a price fails as the bug it is,
  // not as an unreachable store.
  const { prices } = getConfig();
  const estimateCostMicros = (outputCap: number) => costMicros(model, { promptTokens, completionTokens: outputCap }, prices);
  estimateCostMicros(0);
  const spendCap: SpendCapCheck | undefined = capMicros === null ? undefined : { capMicros, estimateCostMicros };

  let result;
  try {
    result = await store.reserve({
      userId,
      limits,
      promptTokens,
      maxOutputTokens: limits.maxOutputTokens,
      minOutputTokens: MIN_OUTPUT_TOKENS,
      now,
      spendCap,
    });
  } catch (error) {
    recordStoreFailure({ requestId, userId, feature, error });
    throw new ApiError("LIMITS_UNAVAILABLE");
  }
  recordStoreSuccess();

  const headers = rateLimitHeaders(limits, result.snapshot, now, promptTokens);
  if (!result.admitted) {
    if (result.code === "SPEND_CAP_REACHED") {
      logger.warn("request rejected: app-wide spend cap reached", { requestId, userId, feature });
      headers["X-RateLimit-Remaining-Requests"] = "0";
      headers["X-RateLimit-Reset"] = String(result.retryAfterSeconds);
    }
    const message = `${LIMIT_MESSAGES[result.code](limits)} Try again in ${describeWait(result.retryAfterSeconds)}.`;
    throw new ApiError(result.code, message, { ...headers, "Retry-After": String(result.retryAfterSeconds) });
  }
  return { reservation: result.reservation, outputCap: result.reservation.outputCap, headers, admittedAt: now };
}

/**
 * Settles a reservation to the tokens and cost really used. It runs in a `finally` after every
 * call, so a failed or stopped call gives back what it did not use. A settlement that fails is
 * logged and not thrown, because the request itself already happened. The reservation then
 * stays counted, which errs towards rejecting.
 */
export async function settleRequest(input: {
  reservation: Reservation;
  usedTokens: number;
  usedCostMicros: number;
  requestId: string;
  store?: CounterStore;
}): Promise<void> {
  const store = input.store ?? getCounterStore();
  try {
    await store.settle({ reservation: input.reservation, usedTokens: input.usedTokens, usedCostMicros: input.usedCostMicros });
  } catch (error) {
    logger.error("settling a reservation failed", { requestId: input.requestId, userId: input.reservation.userId, error });
  }
}

/**
 * Checks whether the database reported an error for a statement (it carries a SQLSTATE code),
 * which means the statement's transaction was rolled back. A lost connection has no such code,
 * and then the statement may or may not have committed.
 */
function isStatementError(error: unknown): boolean {
  const withCode = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = withCode?.code ?? withCode?.cause?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code);
}

async function writeUsageRow(row: UsageRowInput): Promise<void> {
  try {
    await insertUsageRow(await getDb(), row);
  } catch (error) {
    logger.error("writing the usage row failed", { requestId: row.requestId, userId: row.userId, feature: row.feature, error });
  }
}

/**
 * Settles a call's reservation (see settleRequest) and writes its usage row. A store that can do
 * both in one statement does, so the call costs one round trip after the model. When that
 * statement fails, nothing of it was stored, and the two are tried again apart, so neither a
 * reservation nor a usage row is lost to one failed write. Logs what fails, never throws.
 */
export async function settleAndRecordUsage(input: {
  reservation: Reservation;
  usedTokens: number;
  usedCostMicros: number;
  usageRow: UsageRowInput;
  requestId: string;
  store?: CounterStore;
}): Promise<void> {
  const { reservation, usedTokens, usedCostMicros, usageRow, requestId } = input;
  const store = input.store ?? getCounterStore();
  if (store.settleWithUsageRow) {
    try {
      await store.settleWithUsageRow({ reservation, usedTokens, usedCostMicros, usageRow });
      return;
    } catch (error) {
      const context = { requestId, userId: usageRow.userId, feature: usageRow.feature, error };
      // Written again only when the database rolled the statement back: after a lost connection
      // it may have committed, and a second write would count the call twice.
      if (!isStatementError(error)) {
        logger.error("settling a reservation and writing its usage row failed", context);
        return;
      }
      logger.warn("settling a reservation with its usage row failed; trying them apart", context);
    }
  }
  await Promise.all([settleRequest({ reservation, usedTokens, usedCostMicros, requestId, store }), writeUsageRow(usageRow)]);
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
  store?: CounterStore;
}): Promise<void> {
  const { admission, userId, requestId, feature, model } = input;
  await settleAndRecordUsage({
    reservation: admission.reservation,
    usedTokens: 0,
    usedCostMicros: 0,
    requestId,
    store: input.store,
    usageRow: {
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
      // Like the rows of calls, the row counts on the UTC day its reservation was made.
      createdAt: admission.admittedAt,
    },
  });
}

export type SpendCapStatus = {
  /** GLOBAL_DAILY_SPEND_CAP_USD in dollars, or null when the app has no cap. */
  spendCapUsd: number | null;
  /**
   * Whether model calls are being rejected for the cap: today's spend counter is at the cap, or
   * the latest request checked against it was rejected. Null when the counters cannot be read.
   */
  capReached: boolean | null;
};

/** Reads whether the app-wide spend cap is rejecting calls today, for the admin console. */
export async function readSpendCapStatus(input: { now?: Date; store?: CounterStore } = {}): Promise<SpendCapStatus> {
  const { spendCapMicros } = getConfig();
  if (spendCapMicros === null) return { spendCapUsd: null, capReached: false };

  const spendCapUsd = spendCapMicros / 1_000_000;
  try {
    const spend = await (input.store ?? getCounterStore()).peekAppSpend({ now: input.now ?? new Date() });
    return { spendCapUsd, capReached: spend.lastCheckRejected || spend.spentMicros >= spendCapMicros };
  } catch (error) {
    logger.warn("reading the app-wide spend counter failed", { error });
    return { spendCapUsd, capReached: null };
  }
}
