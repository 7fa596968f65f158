import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admitRequest } from "@/lib/limits/gate";
import { DEFAULT_PLANS, type PlanLimits } from "@/lib/limits/plans";
import type { CounterStore } from "@/lib/limits/store";
import { configureTestEnvironment } from "@/tests/helpers";
import { createSharedStores, timeOnUnusedDay } from "@/tests/limits-helpers";

// A reservation under a spend cap is priced for the output cap it gets. When the day's budget
// clamps that cap below the plan's, the PostgreSQL store learns the clamped cap from the database
// and prices it in a second call. The Upstash store prices it between its two scripts.

let store: CounterStore;
let closeStores: () => Promise<void>;

beforeAll(async () => {
  configureTestEnvironment();
  let stores: CounterStore[];
  ({ stores, close: closeStores } = await createSharedStores(1));
  store = stores[0]!;
});

afterAll(() => closeStores());

// 100 prompt tokens leave room for 300 output tokens of the plan's 1,000.
const clamping: PlanLimits = { ...DEFAULT_PLANS.enterprise, requestsPerMinute: 1_000, requestsPerDay: 1_000, tokensPerDay: 400, maxOutputTokens: 1_000 };
const request = { limits: clamping, promptTokens: 100, model: "gpt-4o-mini", feature: "test", requestId: "req_test" };

describe("clamped output cap under a spend cap", () => {
  it("reserves the price of the clamped cap", async () => {
    const now = timeOnUnusedDay();
    const userId = randomUUID();

    const admission = await admitRequest({ ...request, userId, store, now, spendCapMicros: 1_000_000 });

    expect(admission.outputCap).toBe(300);
    expect(admission.reservation.reservedTokens).toBe(400);
    // gpt-4o-mini: 100 prompt tokens at $0.15 and 300 output tokens at $0.60 per million.
    expect(admission.reservation.reservedCostMicros).toBe(195);
    expect((await store.peekAppSpend({ now })).spentMicros).toBe(195);
    expect((await store.peek({ userId, now })).tokensToday).toBe(400);
  });

  it("a cap too small for the clamped price uses none of the quota", async () => {
    const now = timeOnUnusedDay();
    const userId = randomUUID();

    const error = await admitRequest({ ...request, userId, store, now, spendCapMicros: 194 }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: "SPEND_CAP_REACHED" });
    const snapshot = await store.peek({ userId, now });
    expect(snapshot.requestsToday).toBe(0);
    expect(snapshot.tokensToday).toBe(0);
    expect((await store.peekAppSpend({ now })).spentMicros).toBe(0);
  });
});
