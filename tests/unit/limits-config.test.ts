import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";

const secrets = { JWT_ACCESS_SECRET: "a".repeat(32), JWT_REFRESH_SECRET: "b".repeat(32) };

function configError(environment: Record<string, string | undefined>): string {
  try {
    parseConfig({ ...secrets, ...environment });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("limit counter configuration", () => {
  it("keeps the counters in the database by default", () => {
    const config = parseConfig({ ...secrets });
    expect(config.counters).toEqual({ kind: "postgres" });
    expect(config.spendCapMicros).toBeNull();
  });

  it("selects Upstash when its URL and token are set", () => {
    const config = parseConfig({ ...secrets, UPSTASH_REDIS_REST_URL: "https://example-1.upstash.io", UPSTASH_REDIS_REST_TOKEN: "token" });
    expect(config.counters).toEqual({ kind: "upstash", url: "https://example-1.upstash.io", token: "token", keyPrefix: "tollgate" });
  });

  it("takes a key prefix for Upstash", () => {
    const config = parseConfig({
      ...secrets,
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
      UPSTASH_REDIS_REST_TOKEN: "token",
      UPSTASH_KEY_PREFIX: "staging",
    });
    expect(config.counters).toMatchObject({ keyPrefix: "staging" });
  });

  it.each([
    ["a URL without its token", { UPSTASH_REDIS_REST_URL: "https://example-1.upstash.io" }, /Missing UPSTASH_REDIS_REST_TOKEN/],
    ["a token without its URL", { UPSTASH_REDIS_REST_TOKEN: "token" }, /Missing UPSTASH_REDIS_REST_URL/],
    ["a URL that is not http(s)", { UPSTASH_REDIS_REST_URL: "redis://127.0.0.1:6379", UPSTASH_REDIS_REST_TOKEN: "t" }, /UPSTASH_REDIS_REST_URL: must be/],
    ["a key prefix with a hash tag", { UPSTASH_KEY_PREFIX: "{app}" }, /UPSTASH_KEY_PREFIX: must be 1 to 64/],
  ])("rejects %s", (_case, environment, message) => {
    expect(configError(environment)).toMatch(message);
  });

  it("reads the spend cap in dollars as micro-dollars", () => {
    expect(parseConfig({ ...secrets, GLOBAL_DAILY_SPEND_CAP_USD: "25" }).spendCapMicros).toBe(25_000_000);
    expect(parseConfig({ ...secrets, GLOBAL_DAILY_SPEND_CAP_USD: "2.50" }).spendCapMicros).toBe(2_500_000);
    expect(parseConfig({ ...secrets, GLOBAL_DAILY_SPEND_CAP_USD: " " }).spendCapMicros).toBeNull();
  });

  it.each([["-5"], ["0"], ["ten"], ["1e3"], ["0.0000001"]])("rejects a spend cap of %s", (value) => {
    expect(configError({ GLOBAL_DAILY_SPEND_CAP_USD: value })).toMatch(/GLOBAL_DAILY_SPEND_CAP_USD: must be/);
  });
});
