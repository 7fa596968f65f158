import { beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { getDb, type Database } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { admitRequest, settleRequest } from "@/lib/limits/gate";
import { DEFAULT_PLANS, type PlanLimits } from "@/lib/limits/plans";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import { configureTestEnvironment } from "@/tests/helpers";

beforeAll(() => configureTestEnvironment());

const store = createPostgresStore(getDb);
const roomy: PlanLimits = { ...DEFAULT_PLANS.enterprise, requestsPerMinute: 1_000, requestsPerDay: 1_000, tokensPerDay: 10_000_000 };

function reserve(userId: string, limits: PlanLimits, now = new Date(), promptTokens = 100) {
  return store.reserve({ userId, limits, promptTokens, maxOutputTokens: 1_000, minOutputTokens: 16, now });
}

describe("postgres counter store", () => {
  it("admits exactly 20 of 50 parallel requests against 20 per day", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerDay: 20 };
    const results = await Promise.all(Array.from({ length: 50 }, () => reserve(userId, limits)));

    expect(results.filter((result) => result.admitted)).toHaveLength(20);
    const refused = results.filter((result) => !result.admitted);
    expect(refused).toHaveLength(30);
    expect(new Set(refused.map((result) => result.code))).toEqual(new Set(["DAILY_REQUEST_LIMIT"]));
  });

  it("admits exactly 5 of 50 parallel requests against 5 per minute", async () => {
    const userId = randomUUID();
    const results = await Promise.all(Array.from({ length: 50 }, () => reserve(userId, { ...roomy, requestsPerMinute: 5 })));

    expect(results.filter((result) => result.admitted)).toHaveLength(5);
    for (const result of results) {
      if (result.admitted) continue;
      expect(result.code).toBe("RATE_LIMITED");
      expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });

  it("never reserves past the day's tokens under parallel requests", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, tokensPerDay: 10_000 };
    const results = await Promise.all(Array.from({ length: 50 }, () => reserve(userId, limits)));

    const reserved = results.flatMap((result) => (result.admitted ? [result.reservation.reservedTokens] : []));
    expect(reserved.reduce((sum, tokens) => sum + tokens, 0)).toBeLessThanOrEqual(10_000);
    expect(results.filter((result) => !result.admitted).every((result) => result.code === "DAILY_TOKEN_LIMIT")).toBe(true);
    const snapshot = await store.peek({ userId, now: new Date() });
    expect(snapshot.tokensToday).toBeLessThanOrEqual(10_000);
  });

  it("clamps the output cap to what the day has left", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, tokensPerDay: 10_000 };
    const first = await store.reserve({ userId, limits, promptTokens: 9_400, maxOutputTokens: 600, minOutputTokens: 16, now: new Date() });
    expect(first.admitted).toBe(true);

    const second = await reserve(userId, limits);
    expect(second.admitted).toBe(false);

    if (first.admitted) await store.settle({ reservation: first.reservation, usedTokens: 9_500 });
    // 500 tokens are left: a 100-token prompt gets an output cap of 400, not the 1,000 it asked for.
    const third = await reserve(userId, limits);
    expect(third.admitted && third.reservation.outputCap).toBe(400);
  });

  it("slides the minute window instead of resetting it", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerMinute: 3 };
    const start = new Date("2026-12-04T10:00:50.000Z");
    for (let i = 0; i < 3; i++) expect((await reserve(userId, limits, start)).admitted).toBe(true);

    // Just past the minute boundary the three requests are still inside the last 60 seconds.
    const afterBoundary = await reserve(userId, limits, new Date("2026-12-04T10:01:05.000Z"));
    expect(afterBoundary.admitted).toBe(false);
    expect(!afterBoundary.admitted && afterBoundary.retryAfterSeconds).toBe(45);

    expect((await reserve(userId, limits, new Date("2026-12-04T10:01:50.001Z"))).admitted).toBe(true);
  });

  it("starts a new day's budget at UTC midnight", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerDay: 1 };
    expect((await reserve(userId, limits, new Date("2026-12-04T23:59:00Z"))).admitted).toBe(true);
    const refused = await reserve(userId, limits, new Date("2026-12-04T23:59:30Z"));
    expect(!refused.admitted && refused.retryAfterSeconds).toBe(30);
    expect((await reserve(userId, limits, new Date("2026-12-05T00:00:00Z"))).admitted).toBe(true);
  });

  it("settling gives back unused tokens to the reservation's day", async () => {
    const userId = randomUUID();
    const result = await reserve(userId, roomy);
    expect(result.admitted).toBe(true);
    if (!result.admitted) return;

    await store.settle({ reservation: result.reservation, usedTokens: 150 });
    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(150);
    await store.settle({ reservation: { ...result.reservation, reservedTokens: 150 }, usedTokens: 0 });
    expect((await store.peek({ userId, now: new Date() })).tokensToday).toBe(0);
  });
});

describe("gate", () => {
  it("refuses with the limit's code, Retry-After and rate-limit headers", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, requestsPerMinute: 1 };
    const admitted = await admitRequest({ userId, limits, promptTokens: 10, requestId: "req_test", store });
    expect(admitted.headers["X-RateLimit-Remaining-Requests"]).toBe("0");

    const refusal = await admitRequest({ userId, limits, promptTokens: 10, requestId: "req_test", store }).catch((error) => error);
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal.code).toBe("RATE_LIMITED");
    expect(refusal.status).toBe(429);
    expect(Number(refusal.headers["Retry-After"])).toBeGreaterThan(0);
    expect(refusal.headers["X-RateLimit-Limit-Requests"]).toBe("1");
    expect(refusal.message).toMatch(/Try again in \d+ seconds/);
    await settleRequest({ reservation: admitted.reservation, usedTokens: 0, requestId: "req_test", store });
  });

  it("rejects a prompt over the plan's cap before reserving anything", async () => {
    const userId = randomUUID();
    const limits = { ...roomy, maxPromptTokens: 50 };
    const error = await admitRequest({ userId, limits, promptTokens: 51, requestId: "req_test", store }).catch((caught) => caught);
    expect(error.code).toBe("PROMPT_TOO_LONG");
    expect((await store.peek({ userId, now: new Date() })).requestsToday).toBe(0);
  });

  it("fails closed when the counter store cannot be reached", async () => {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    // Nothing listens on port 1 of the loopback address, so every query fails to connect.
    const client = postgres("postgres://nobody@127.0.0.1:1/none", { connect_timeout: 2, max: 1 });
    const unreachable = createPostgresStore(async () => drizzle(client) as unknown as Database);

    const error = await admitRequest({ userId: randomUUID(), limits: roomy, promptTokens: 10, requestId: "req_test", store: unreachable }).catch(
      (caught) => caught,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("LIMITS_UNAVAILABLE");
    expect(error.status).toBe(503);
    await client.end();
  });
});
