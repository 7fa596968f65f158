import { randomUUID } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { getDb } from "@/lib/db/client";
import { llmUsage, usageDaily, users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";
import { admitRequest, MIN_OUTPUT_TOKENS, settleAndRecordUsage, settleRequest } from "@/lib/limits/gate";
import { logger } from "@/lib/log";
import type { UsageRowInput } from "@/lib/usage/rows";
import { DEFAULT_PLANS, type PlanLimits } from "@/lib/limits/plans";
import type { CounterStore, ReserveInput, ReserveResult } from "@/lib/limits/store";
import { configureTestEnvironment } from "@/tests/helpers";
import { createSharedStores, testedStoreKind, timeOnUnusedDay } from "@/tests/limits-helpers";

// Two stores that share their counters, standing for two app instances; parallel requests are
// split between them.
let stores: CounterStore[];
let closeStores: () => Promise<void>;
let store: CounterStore;

beforeAll(async () => {
  configureTestEnvironment();
  ({ stores, close: closeStores } = await createSharedStores(2));
  store = stores[0]!;
});

afterAll(() => closeStores());

const roomy: PlanLimits = {
  ...DEFAULT_PLANS.enterprise,
  requestsPerMinute: 1_000,
  requestsPerDay: 1_000,
  tokensPerDay: 10_000_000,
  maxOutputTokens: 1_000,
};

function reserveInput(userId: string, limits: PlanLimits, overrides: Partial<ReserveInput> = {}): ReserveInput {
  return { userId, limits, promptTokens: 100, maxOutputTokens: 1_000, minOutputTokens: MIN_OUTPUT_TOKENS, now: new Date(), ...overrides };
}

function reserve(userId: string, limits: PlanLimits, overrides: Partial<ReserveInput> = {}) {
  return store.reserve(reserveInput(userId, limits, overrides));
}

/** Sends `count` reservations at once, alternating between the two stores. */
function reserveInParallel(count: number, inputFor: (index: number) => ReserveInput): Promise<ReserveResult[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => stores[index % stores.length]!.reserve(inputFor(index))));
}

function admittedOf(results: ReserveResult[]) {
  return results.flatMap((result) => (result.admitted ? [result.reservation] : []));
}

function rejectionCodes(results: ReserveResult[]) {
  return new Set(results.flatMap((result) => (result.admitted ? [] : [result.code])));
}

describe(`${testedStoreKind()} counter store`, () => {
  it("admits exactly 5 of 50 parallel requests against 5 per minute", async () => {
    const userId = randomUUID();
    const results = await reserveInParallel(50, () => reserveInput(userId, { ...roomy, requestsPerMinute: 5 }));

    expect(admittedOf(results)).toHaveLength(5);
    expect(rejectionCodes(results)).toEqual(new Set(["RATE_LIMITED"]));
    for (const result of results) {
      if (result.admitted) continue;
      expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    expect((await store.peek({ userId, now: new Date() })).requestsThisMinute).toBe(5);
  });

  it("admits exactly 20 of 50 parallel requests against 20 per day", async () => {
    const userId = randomUUID();
    const results = await reserveInParallel(50, () => reserveInput(userId, { ...roomy, requestsPerDay: 20 }));

    expect(admittedOf(results)).toHaveLength(20);
    expect(rejectionCodes(results)).toEqual(new Set(["DAILY_REQUEST_LIMIT"]));
    expect((await store.peek({ userId, now: new Date() })).requestsToday).toBe(20);
  });

  it("admits exactly the reservations the day's tokens hold, the last one clamped", async () => {
    const userId = randomUUID();
    // Seven full reservations of 100 + 1,000 tokens, then 500 tokens: an eighth with its output cap clamped to 400.
    const limits = { ...roomy, tokensPerDay: 7 * 1_100 + 500 };
    const results = await reserveInParallel(50, () => reserveInput(userId, limits));

    const admitted = admittedOf(results);
    expect(admitted).toHaveLength(8);
    expect(admitted.map((reservation) => reservation.outputCap).sort((a, b) => a - b)).toEqual([400, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000]);
    expect(admitted.reduce((sum, reservation) => sum + reservation.reservedTokens, 0)).toBe(limits.tokensPerDay);
    expect(rejectionCodes(results)).toEqual(new Set(["DAILY_TOKEN_LIMIT"]));
    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(limits.tokensPerDay);
  });

  it("clamps the output cap to what the day has left", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, tokensPerDay: 10_000 };
    const first = await reserve(userId, limits, { promptTokens: 9_400, maxOutputTokens: 600 });
    expect(first.admitted).toBe(true);
    expect((await reserve(userId, limits)).admitted).toBe(false);

    if (first.admitted) await store.settle({ reservation: first.reservation, usedTokens: 9_500, usedCostMicros: 0 });
    // 500 tokens are left: a 100-token prompt gets an output cap of 400, not the 1,000 it asked for.
    const third = await reserve(userId, limits);
    expect(third).toMatchObject({ admitted: true, reservation: { outputCap: 400 } });
  });

  it("rejects when the clamped output cap falls below the minimum", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, tokensPerDay: 100 + MIN_OUTPUT_TOKENS - 1 };
    const result = await reserve(userId, limits);
    expect(result.admitted).toBe(false);
    expect(result).toMatchObject({ admitted: false, code: "DAILY_TOKEN_LIMIT" });
    expect((await store.peek({ userId, now: new Date() })).requestsToday).toBe(0);
  });

  it("slides the minute window instead of resetting it", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerMinute: 3 };
    const start = new Date("2026-12-04T10:00:50.000Z");
    for (let i = 0; i < 3; i++) expect((await reserve(userId, limits, { now: start })).admitted).toBe(true);

    // Just past the minute boundary the three requests are still inside the last 60 seconds.
    const afterBoundary = await reserve(userId, limits, { now: new Date("2026-12-04T10:01:05.000Z") });
    expect(afterBoundary.admitted).toBe(false);
    expect(afterBoundary).toMatchObject({ admitted: false, retryAfterSeconds: 45 });

    expect((await reserve(userId, limits, { now: new Date("2026-12-04T10:01:50.001Z") })).admitted).toBe(true);
  });

  it("times Retry-After from the request whose leaving makes room", async () => {
    const userId = randomUUID();
    const start = Date.parse("2026-12-04T11:00:00.000Z");
    for (let second = 0; second < 50; second += 10) {
      expect((await reserve(userId, { ...roomy, requestsPerMinute: 10 }, { now: new Date(start + second * 1000) })).admitted).toBe(true);
    }

    // The plan now allows 3 a minute and 5 are in the window: the third oldest (at 20 s) must
    // leave before one more fits, at 80 s.
    const rejected = await reserve(userId, { ...roomy, requestsPerMinute: 3 }, { now: new Date(start + 45_000) });
    expect(rejected).toMatchObject({ admitted: false, code: "RATE_LIMITED" });
    expect(rejected).toMatchObject({ admitted: false, retryAfterSeconds: 35 });
  });

  it("names the limit that frees up last when several fail", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerMinute: 2, requestsPerDay: 2 };
    expect((await reserve(userId, limits, { now: new Date("2026-12-04T23:59:10Z") })).admitted).toBe(true);
    expect((await reserve(userId, limits, { now: new Date("2026-12-04T23:59:20Z") })).admitted).toBe(true);

    // The day resets in 30 s, but the minute window only frees up at 00:00:10, in 40 s.
    const nearMidnight = await reserve(userId, limits, { now: new Date("2026-12-04T23:59:30Z") });
    expect(nearMidnight).toMatchObject({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 40 });

    const otherUser = randomUUID();
    for (const time of ["2026-12-04T12:00:10Z", "2026-12-04T12:00:20Z"]) {
      expect((await reserve(otherUser, limits, { now: new Date(time) })).admitted).toBe(true);
    }
    const midday = await reserve(otherUser, limits, { now: new Date("2026-12-04T12:00:30Z") });
    expect(midday).toMatchObject({ admitted: false, code: "DAILY_REQUEST_LIMIT", retryAfterSeconds: 12 * 3600 - 30 });
  });

  it("starts a new day's budget at UTC midnight", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerDay: 1 };
    expect((await reserve(userId, limits, { now: new Date("2026-12-04T23:59:00Z") })).admitted).toBe(true);
    const rejected = await reserve(userId, limits, { now: new Date("2026-12-04T23:59:30Z") });
    expect(rejected).toMatchObject({ admitted: false, retryAfterSeconds: 30 });
    expect((await reserve(userId, limits, { now: new Date("2026-12-05T00:00:00Z") })).admitted).toBe(true);
  });

  it("settlement replaces the reservation with real usage", async () => {
    const userId = randomUUID();
    const result = await reserve(userId, roomy);
    expect(result.admitted).toBe(true);
    if (!result.admitted) return;
    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(1_100);

    await store.settle({ reservation: result.reservation, usedTokens: 150, usedCostMicros: 0 });
    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(150);
  });

  it("a failed call's settlement gives the whole reservation back but keeps the request", async () => {
    const userId = randomUUID();
    const result = await reserve(userId, roomy);
    if (!result.admitted) throw new Error("expected an admission");

    await stores[1]!.settle({ reservation: result.reservation, usedTokens: 0, usedCostMicros: 0 });
    const snapshot = await store.peek({ userId, now: new Date() });
    expect(snapshot.tokensToday).toBe(0);
    expect(snapshot.requestsToday).toBe(1);
  });

  it("settles a reservation against the day it was made on", async () => {
    const userId = randomUUID();
    const result = await reserve(userId, roomy, { now: new Date("2026-12-04T23:59:59Z") });
    if (!result.admitted) throw new Error("expected an admission");

    await store.settle({ reservation: result.reservation, usedTokens: 300, usedCostMicros: 0 });
    expect((await store.peek({ userId, now: new Date("2026-12-04T23:59:59Z") })).tokensToday).toBe(300);
    expect((await store.peek({ userId, now: new Date("2026-12-05T00:00:01Z") })).tokensToday).toBe(0);
  });
});

describe(`${testedStoreKind()} app-wide spend cap`, () => {
  // Each request costs 10 micro-dollars plus one per output token: 1,010 with the full cap.
  const estimateCostMicros = (outputCap: number) => 10 + outputCap;

  it("admits exactly as many parallel requests as the cap holds", async () => {
    const now = timeOnUnusedDay();
    const spendCap = { capMicros: 5 * 1_010 + 500, estimateCostMicros };
    const results = await reserveInParallel(50, () => reserveInput(randomUUID(), roomy, { now, spendCap }));

    const admitted = admittedOf(results);
    expect(admitted).toHaveLength(5);
    expect(admitted.every((reservation) => reservation.reservedCostMicros === 1_010)).toBe(true);
    expect(rejectionCodes(results)).toEqual(new Set(["SPEND_CAP_REACHED"]));
    expect(await store.peekAppSpend({ now })).toEqual({ spentMicros: 5 * 1_010, lastCheckRejected: true });
  });

  it("a request rejected by the cap uses none of the user's quota", async () => {
    const now = timeOnUnusedDay();
    const userId = randomUUID();
    const spendCap = { capMicros: 1_500, estimateCostMicros };
    expect((await reserve(userId, roomy, { now, spendCap })).admitted).toBe(true);

    const rejected = await reserve(userId, roomy, { now, spendCap });
    expect(rejected).toMatchObject({ admitted: false, code: "SPEND_CAP_REACHED" });
    expect(rejected).toMatchObject({ admitted: false, retryAfterSeconds: 12 * 3600 });

    const snapshot = await store.peek({ userId, now });
    expect(snapshot).toMatchObject({ requestsThisMinute: 1, requestsToday: 1, tokensToday: 1_100 });
  });

  it("settlement replaces the reserved cost with the real cost", async () => {
    const now = timeOnUnusedDay();
    const spendCap = { capMicros: 1_500, estimateCostMicros };
    const first = await reserve(randomUUID(), roomy, { now, spendCap });
    if (!first.admitted) throw new Error("expected an admission");
    expect((await reserve(randomUUID(), roomy, { now, spendCap })).admitted).toBe(false);

    await store.settle({ reservation: first.reservation, usedTokens: 300, usedCostMicros: 200 });
    expect(await store.peekAppSpend({ now })).toEqual({ spentMicros: 200, lastCheckRejected: true });

    // 200 spent and 1,010 reserved fit under 1,500, and the admission clears the rejection.
    expect((await reserve(randomUUID(), roomy, { now, spendCap })).admitted).toBe(true);
    expect(await store.peekAppSpend({ now })).toEqual({ spentMicros: 1_210, lastCheckRejected: false });
  });

  it("checks the user's limits before the cap", async () => {
    const now = timeOnUnusedDay();
    const userId = randomUUID();
    const spendCap = { capMicros: 100, estimateCostMicros };
    const result = await reserve(userId, { ...roomy, requestsPerDay: 0 }, { now, spendCap });
    expect(result).toMatchObject({ admitted: false, code: "DAILY_REQUEST_LIMIT" });
    expect(await store.peekAppSpend({ now })).toEqual({ spentMicros: 0, lastCheckRejected: false });
  });
});

describe(`gate on the ${testedStoreKind()} store`, () => {
  const request = { model: "gpt-4o-mini", feature: "test", requestId: "req_test", spendCapMicros: null };

  it("rejects with the limit's code, Retry-After and rate-limit headers", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerMinute: 1 };
    const admitted = await admitRequest({ ...request, userId, limits, promptTokens: 10, store });
    expect(admitted.headers["X-RateLimit-Remaining-Requests"]).toBe("0");

    const rejection = await admitRequest({ ...request, userId, limits, promptTokens: 10, store }).catch((error) => error);
    expect(rejection).toBeInstanceOf(ApiError);
    expect(rejection.code).toBe("RATE_LIMITED");
    expect(rejection.status).toBe(429);
    expect(Number(rejection.headers["Retry-After"])).toBeGreaterThan(0);
    expect(rejection.headers["X-RateLimit-Limit-Requests"]).toBe("1");
    expect(rejection.message).toMatch(/Try again in \d+ seconds/);
    await settleRequest({ reservation: admitted.reservation, usedTokens: 0, usedCostMicros: 0, requestId: "req_test", store });
  });

  it("rejects a prompt over the plan's cap before reserving anything", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, maxPromptTokens: 50 };
    const error = await admitRequest({ ...request, userId, limits, promptTokens: 51, store }).catch((caught) => caught);
    expect(error.code).toBe("PROMPT_TOO_LONG");
    expect((await store.peek({ userId, now: new Date() })).requestsToday).toBe(0);
  });

  it.each([
    ["the minute binds", { requestsPerMinute: 4 }],
    ["the day's requests bind", { requestsPerDay: 3 }],
    ["the day's tokens bind", { tokensPerDay: 3 * 1_100 + 200 }],
    ["the tokens leave only a clamped request", { tokensPerDay: 500 }],
  ])("remaining requests equal the admissions that follow when %s", async (_case, plan) => {
    const userId = randomUUID();
    const limits = { ...roomy, ...plan };
    const remainingAfter: number[] = [];
    for (;;) {
      const admission = await admitRequest({ ...request, userId, limits, promptTokens: 100, store }).catch((error: ApiError) => error);
      if (admission instanceof ApiError) {
        expect(admission.headers["X-RateLimit-Remaining-Requests"]).toBe("0");
        break;
      }
      remainingAfter.push(Number(admission.headers["X-RateLimit-Remaining-Requests"]));
    }
    expect(remainingAfter.length).toBeGreaterThan(0);
    expect(remainingAfter).toEqual(remainingAfter.map((_, index) => remainingAfter.length - 1 - index));
  });

  it("rejects every request at the spend cap with 503 and no remaining requests", async () => {
    const now = timeOnUnusedDay();
    const userId = randomUUID();
    const error = await admitRequest({ ...request, userId, limits: roomy, promptTokens: 100, store, now, spendCapMicros: 1 }).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("SPEND_CAP_REACHED");
    expect(error.status).toBe(503);
    expect(error.headers["Retry-After"]).toBe(String(12 * 3600));
    expect(error.headers["X-RateLimit-Remaining-Requests"]).toBe("0");
    expect((await store.peek({ userId, now })).requestsToday).toBe(0);
  });

  it("reserves the model's price for the prompt and the clamped output cap", async () => {
    const now = timeOnUnusedDay();
    const admission = await admitRequest({ ...request, userId: randomUUID(), limits: roomy, promptTokens: 100, store, now, spendCapMicros: 1_000_000 });
    // gpt-4o-mini: 100 prompt tokens at $0.15 and 1,000 output tokens at $0.60 per million.
    expect(admission.reservation.reservedCostMicros).toBe(615);
    expect((await store.peekAppSpend({ now })).spentMicros).toBe(615);
  });
});

describe(`settlement with the usage row on the ${testedStoreKind()} store`, () => {
  afterEach(() => vi.restoreAllMocks());

  /** Inserts a user, whom usage rows must belong to, and admits one request of 100 prompt tokens for them. */
  async function admitForNewUser() {
    const userId = randomUUID();
    await (await getDb()).insert(users).values({ id: userId, email: `settle-${userId}@example.test`, plan: "free" });
    const admission = await admitRequest({ userId, limits: roomy, promptTokens: 100, model: "gpt-4o-mini", feature: "test", requestId: "req_test", store, spendCapMicros: null });
    return { userId, admission };
  }

  function usageRowOf(userId: string, admittedAt: Date): UsageRowInput {
    return { userId, requestId: "req_test", feature: "test", model: "gpt-4o-mini", tokensIn: 100, tokensOut: 50, costMicros: 45, latencyMs: 10, status: "ok", usageSource: "reported", createdAt: admittedAt };
  }

  /** Admits a request for a new user, then records it through a store whose combined statement fails with `failure`. */
  async function recordWhenCombinedStatementFails(failure: Error): Promise<string> {
    const { userId, admission } = await admitForNewUser();
    const failingStore = { ...store, settleWithUsageRow: () => Promise.reject(failure) };
    const usageRow = usageRowOf(userId, admission.admittedAt);
    await settleAndRecordUsage({ reservation: admission.reservation, usedTokens: 150, usedCostMicros: 45, usageRow, requestId: "req_test", store: failingStore });
    return userId;
  }

  async function storedOf(userId: string) {
    const db = await getDb();
    const rows = await db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
    const [daily] = await db.select().from(usageDaily).where(eq(usageDaily.userId, userId));
    const snapshot = await store.peek({ userId, now: new Date() });
    return { rows, daily, snapshot };
  }

  it("settles and writes the row and its rollup", async () => {
    const { userId, admission } = await admitForNewUser();
    const usageRow = usageRowOf(userId, admission.admittedAt);
    await settleAndRecordUsage({ reservation: admission.reservation, usedTokens: 150, usedCostMicros: 45, usageRow, requestId: "req_test", store });

    const { rows, daily, snapshot } = await storedOf(userId);
    expect(snapshot.tokensToday).toBe(150);
    expect(snapshot.requestsToday).toBe(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.totalTokens).toBe(150);
    expect(daily?.requests).toBe(1);
    expect(daily?.totalTokens).toBe(150);
  });

  it("writes both apart when the combined statement fails", async () => {
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => {});
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    const userId = await recordWhenCombinedStatementFails(deadlock);

    const { rows, snapshot } = await storedOf(userId);
    expect(snapshot.tokensToday).toBe(150);
    expect(rows).toHaveLength(1);
    expect(warn).toHaveBeenCalledOnce();
  });

  it("still settles when the usage row is rejected", async () => {
    // No users row, so the database rejects the usage row's foreign key.
    const userId = randomUUID();
    const admission = await admitRequest({ userId, limits: roomy, promptTokens: 100, model: "gpt-4o-mini", feature: "test", requestId: "req_test", store, spendCapMicros: null });
    vi.spyOn(logger, "warn").mockImplementation(() => {});
    const error = vi.spyOn(logger, "error").mockImplementation(() => {});
    const usageRow = usageRowOf(userId, admission.admittedAt);
    await settleAndRecordUsage({ reservation: admission.reservation, usedTokens: 150, usedCostMicros: 45, usageRow, requestId: "req_test", store });

    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(150);
    expect(error).toHaveBeenCalledWith("writing the usage row failed", expect.objectContaining({ userId }));
  });

  it("writes nothing again after a lost connection", async () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => {});
    const lost = Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" });
    const userId = await recordWhenCombinedStatementFails(lost);

    // The statement may have committed, so a second write could count the call twice. The
    // reservation stays counted, which errs towards rejecting.
    const { rows, snapshot } = await storedOf(userId);
    expect(snapshot.tokensToday).toBe(1_100);
    expect(rows).toHaveLength(0);
    expect(error).toHaveBeenCalledOnce();
  });
});
