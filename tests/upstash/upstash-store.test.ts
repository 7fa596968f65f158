import { randomBytes, randomUUID } from "node:crypto";
import IORedis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { ApiError } from "@/lib/errors";
import { admitRequest, MIN_OUTPUT_TOKENS } from "@/lib/limits/gate";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { utcDay } from "@/lib/limits/store";
import { createUpstashStore, upstashKeys } from "@/lib/limits/upstash-store";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";
import { randomKeyPrefix } from "@/tests/limits-helpers";
import { startUpstashBridge, type UpstashBridge } from "@/tests/upstash-bridge";

const redisUrl = process.env.TEST_REDIS_URL!;
const token = randomBytes(24).toString("base64url");
const limits = { ...DEFAULT_PLANS.enterprise, requestsPerMinute: 1_000, requestsPerDay: 1_000 };
const request = { limits, promptTokens: 10, model: "gpt-4o-mini", feature: "test", requestId: "req_test", spendCapMicros: null };

let redis: IORedis;
let bridge: UpstashBridge;
let server: OpenAIServer;

beforeAll(async () => {
  redis = new IORedis(redisUrl);
  bridge = await startUpstashBridge({ redisUrl, token });
  server = await startOpenAIServer();
  // The gate reads model prices from the configuration, so every test needs a valid one.
  configureTestEnvironment({ openaiBaseUrl: server.url });
});

afterAll(async () => {
  await bridge.close();
  await server.close();
  redis.disconnect();
});

function storeFor(keyPrefix = randomKeyPrefix()) {
  return { keyPrefix, store: createUpstashStore({ url: bridge.url, token, keyPrefix }) };
}

/** Returns the part of a key that Redis Cluster hashes: the first `{...}` section, else the whole key. */
function hashedPart(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe("upstash counter keys", () => {
  it("every key a reservation and settlement write has a TTL", async () => {
    const { keyPrefix, store } = storeFor();
    const now = new Date();
    const result = await store.reserve({
      userId: randomUUID(),
      limits,
      promptTokens: 10,
      maxOutputTokens: 100,
      minOutputTokens: MIN_OUTPUT_TOKENS,
      now,
      spendCap: { capMicros: 1_000_000, estimateCostMicros: () => 100 },
    });
    if (!result.admitted) throw new Error("expected an admission");
    await store.settle({ reservation: result.reservation, usedTokens: 50, usedCostMicros: 40 });

    const keys = await redis.keys(`${keyPrefix}:*`);
    expect(keys).toHaveLength(3);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      // The minute window lives a minute; day counters until a day after their day ends.
      expect(ttl, key).toBeLessThanOrEqual(key.endsWith(":minute") ? 60_000 : 2 * 24 * 3600 * 1000);
    }
  });

  it("settlement does not bring back a key that has expired", async () => {
    const { keyPrefix, store } = storeFor();
    const userId = randomUUID();
    const result = await store.reserve({ userId, limits, promptTokens: 10, maxOutputTokens: 100, minOutputTokens: 16, now: new Date() });
    if (!result.admitted) throw new Error("expected an admission");
    const dayKey = upstashKeys(keyPrefix).dayCounters(userId, result.reservation.day);
    await redis.del(dayKey);

    await store.settle({ reservation: result.reservation, usedTokens: 500, usedCostMicros: 0 });
    expect(await redis.exists(dayKey)).toBe(0);
  });

  it("a user's keys share one hash slot, and the spend key has its own", () => {
    const keys = upstashKeys("tollgate");
    const userId = randomUUID();
    expect(hashedPart(keys.minuteWindow(userId))).toBe(userId);
    expect(hashedPart(keys.dayCounters(userId, "2026-12-04"))).toBe(userId);
    expect(hashedPart(keys.appSpend("2026-12-04"))).toBe("tollgate:spend:2026-12-04");
  });
});

describe("upstash counter store outages", () => {
  it("fails closed, then recovers with the bridge", async () => {
    const outage = await startUpstashBridge({ redisUrl, token });
    const store = createUpstashStore({ url: outage.url, token, keyPrefix: randomKeyPrefix() });
    const admit = () => admitRequest({ ...request, userId: randomUUID(), store }).catch((error: unknown) => error);

    expect(await admit()).toMatchObject({ outputCap: expect.any(Number) });
    await outage.close();

    const startedAt = Date.now();
    const rejection = await admit();
    expect(rejection).toBeInstanceOf(ApiError);
    expect(rejection).toMatchObject({ code: "LIMITS_UNAVAILABLE", status: 503 });
    // One retry and a 3-second timeout bound the wait.
    expect(Date.now() - startedAt).toBeLessThan(5_000);

    const restarted = await startUpstashBridge({ redisUrl, token, port: outage.port });
    try {
      expect(await admit()).toMatchObject({ outputCap: expect.any(Number) });
    } finally {
      await restarted.close();
    }
  });

  it("a failed spend step takes the user's admission back", async () => {
    const { keyPrefix, store } = storeFor();
    const userId = randomUUID();
    const now = new Date();
    // A spend key of the wrong type makes the spend script fail inside Redis.
    await redis.set(upstashKeys(keyPrefix).appSpend(utcDay(now)), "not a hash", "EX", 60);

    const error = await admitRequest({ ...request, userId, store, now, spendCapMicros: 1_000_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "LIMITS_UNAVAILABLE" });
    expect(await store.peek({ userId, now })).toMatchObject({ requestsThisMinute: 0, requestsToday: 0, tokensToday: 0 });
  });

  it("a chat request makes no model call while the counters are unreachable", async () => {
    const outage = await startUpstashBridge({ redisUrl, token });
    process.env.UPSTASH_REDIS_REST_URL = outage.url;
    process.env.UPSTASH_REDIS_REST_TOKEN = token;
    configureTestEnvironment({ openaiBaseUrl: server.url });
    const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
    const cookie = cookieHeader(response);

    expect((await readSse(await callRoute(chat, { body: { message: "before" }, cookie }))).at(-1)!.type).toBe("done");
    await outage.close();
    server.reset();

    const rejected = await callRoute(chat, { body: { message: "during" }, cookie });
    expect(rejected.status).toBe(503);
    expect(await rejected.json()).toMatchObject({ code: "LIMITS_UNAVAILABLE" });
    expect(server.requests).toHaveLength(0);

    const restarted = await startUpstashBridge({ redisUrl, token, port: outage.port });
    try {
      expect((await readSse(await callRoute(chat, { body: { message: "after" }, cookie }))).at(-1)!.type).toBe("done");
      expect(server.requests).toHaveLength(1);
    } finally {
      await restarted.close();
    }
  });
});
