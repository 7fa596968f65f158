import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "@/lib/config";
import { DEFAULT_PLANS, parsePlanLimits } from "@/lib/limits/plans";

const secrets = {
  JWT_ACCESS_SECRET: "a".repeat(32),
  JWT_REFRESH_SECRET: "b".repeat(32),
};

function configError(environment: Record<string, string | undefined>): string {
  try {
    parseConfig(environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("defaults to PGlite and the demo model", () => {
    const config = parseConfig({ ...secrets });
    expect(config.database).toEqual({ kind: "pglite", dir: ".data/pglite" });
    expect(config.llm).toEqual({ kind: "demo", model: "tollgate-demo" });
    expect(config.plans).toEqual(DEFAULT_PLANS);
  });

  it("treats empty strings as unset", () => {
    const config = parseConfig({ ...secrets, DATABASE_URL: "", OPENAI_API_KEY: "  " });
    expect(config.database.kind).toBe("pglite");
    expect(config.llm.kind).toBe("demo");
  });

  it("selects PostgreSQL and OpenAI when configured", () => {
    const config = parseConfig({
      ...secrets,
      DATABASE_URL: "postgres://app@127.0.0.1:5432/app",
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: "http://127.0.0.1:4010/v1",
    });
    expect(config.database).toEqual({ kind: "postgres", url: "postgres://app@127.0.0.1:5432/app" });
    expect(config.llm).toMatchObject({ kind: "openai", baseUrl: "http://127.0.0.1:4010/v1", model: "gpt-4o-mini" });
  });

  it("names missing secrets", () => {
    expect(configError({})).toMatch(/Missing JWT_ACCESS_SECRET and JWT_REFRESH_SECRET/);
    expect(configError({ NODE_ENV: "production" })).toMatch(/openssl rand/);
  });

  it("rejects a secret shorter than 32 bytes", () => {
    expect(configError({ ...secrets, JWT_ACCESS_SECRET: "short" })).toMatch(/JWT_ACCESS_SECRET: must be at least 32 bytes/);
  });

  it("rejects equal access and refresh secrets", () => {
    expect(configError({ JWT_ACCESS_SECRET: "c".repeat(40), JWT_REFRESH_SECRET: "c".repeat(40) })).toMatch(/must differ/);
  });

  it("rejects an invalid DATABASE_URL", () => {
    expect(configError({ ...secrets, DATABASE_URL: "mysql://x@127.0.0.1/db" })).toMatch(/DATABASE_URL: must be a postgres/);
  });

  it("rejects a model without a price", () => {
    expect(configError({ ...secrets, OPENAI_API_KEY: "sk-test", OPENAI_MODEL: "mystery-model" })).toMatch(
      /OPENAI_MODEL "mystery-model" has no price/,
    );
  });

  it("accepts a model priced in MODEL_PRICES", () => {
    const config = parseConfig({
      ...secrets,
      OPENAI_API_KEY: "sk-test",
      OPENAI_MODEL: "llama-3.1-8b",
      MODEL_PRICES: '{"llama-3.1-8b":{"input":0.05,"output":0.08}}',
    });
    expect(config.prices["llama-3.1-8b"]).toEqual({ input: 0.05, cachedInput: 0.05, output: 0.08 });
    expect(config.prices["gpt-4o-mini"]).toBeDefined();
  });

  it.each([
    ['{"m":{"input":-1,"output":1}}', /MODEL_PRICES is invalid \(m.input/],
    ['{"m":{"input":"cheap","output":1}}', /MODEL_PRICES is invalid \(m.input/],
    ['{"m":{"input":1}}', /MODEL_PRICES is invalid \(m.output/],
    ["[1,2]", /MODEL_PRICES is invalid/],
    ["{", /MODEL_PRICES is not valid JSON/],
  ])("rejects MODEL_PRICES %s", (json, pattern) => {
    expect(configError({ ...secrets, MODEL_PRICES: json })).toMatch(pattern);
  });

  it("rejects an invalid OPENAI_TIMEOUT_MS", () => {
    expect(configError({ ...secrets, OPENAI_TIMEOUT_MS: "soon" })).toMatch(/OPENAI_TIMEOUT_MS/);
    expect(configError({ ...secrets, OPENAI_TIMEOUT_MS: "5" })).toMatch(/OPENAI_TIMEOUT_MS: must be from 100/);
  });

  it("rejects OPENAI_BASE_URL without a key", () => {
    expect(configError({ ...secrets, OPENAI_BASE_URL: "http://127.0.0.1:4010/v1" })).toContain("OPENAI_API_KEY is missing");
  });

  it("rejects an unknown LOG_LEVEL", () => {
    expect(configError({ ...secrets, LOG_LEVEL: "verbose" })).toContain("LOG_LEVEL: must be debug, info, warn, error or silent");
    expect(parseConfig({ ...secrets, LOG_LEVEL: "WARN" }).env).toBe("development");
  });

  it("lower-cases ADMIN_EMAILS", () => {
    const config = parseConfig({ ...secrets, ADMIN_EMAILS: " Boss@Example.test , ops@example.test," });
    expect([...config.adminEmails]).toEqual(["boss@example.test", "ops@example.test"]);
  });

  it("names PLAN_LIMITS when it is invalid", () => {
    expect(configError({ ...secrets, PLAN_LIMITS: "{" })).toMatch(/PLAN_LIMITS is not valid JSON/);
  });
});

describe("Google sign-in configuration", () => {
  const google = { AUTH_GOOGLE_ID: "client-id", AUTH_GOOGLE_SECRET: "client-secret", AUTH_SECRET: "c".repeat(32) };

  it("is off without AUTH_GOOGLE_ID and AUTH_GOOGLE_SECRET", () => {
    expect(parseConfig({ ...secrets }).google).toBeNull();
  });

  it("uses Google's issuer unless AUTH_GOOGLE_ISSUER overrides it", () => {
    expect(parseConfig({ ...secrets, ...google }).google).toEqual({
      clientId: "client-id",
      clientSecret: "client-secret",
      issuer: "https://accounts.google.com",
      authSecret: "c".repeat(32),
    });
    const local = parseConfig({ ...secrets, ...google, AUTH_GOOGLE_ISSUER: "http://127.0.0.1:4020" });
    expect(local.google?.issuer).toBe("http://127.0.0.1:4020");
  });

  it("names the missing half of the client credentials", () => {
    expect(configError({ ...secrets, AUTH_GOOGLE_ID: "client-id", AUTH_SECRET: google.AUTH_SECRET })).toContain("Missing AUTH_GOOGLE_SECRET");
    expect(configError({ ...secrets, AUTH_GOOGLE_SECRET: "client-secret" })).toContain("Missing AUTH_GOOGLE_ID");
  });

  it("needs a strong AUTH_SECRET", () => {
    expect(configError({ ...secrets, ...google, AUTH_SECRET: undefined })).toContain("Missing AUTH_SECRET");
    expect(configError({ ...secrets, ...google, AUTH_SECRET: "short" })).toContain("AUTH_SECRET: must be at least 32 bytes");
  });

  it("rejects an issuer that is not an http(s) URL", () => {
    expect(configError({ ...secrets, ...google, AUTH_GOOGLE_ISSUER: "accounts.google.com" })).toContain("AUTH_GOOGLE_ISSUER");
  });
});

describe("plan limits", () => {
  it("merges an override onto the defaults", () => {
    const plans = parsePlanLimits('{"free":{"tokensPerDay":10000}}');
    expect(plans.free.tokensPerDay).toBe(10_000);
    expect(plans.free.requestsPerDay).toBe(DEFAULT_PLANS.free.requestsPerDay);
    expect(plans.pro).toEqual(DEFAULT_PLANS.pro);
  });

  it("leaves the defaults unchanged", () => {
    parsePlanLimits('{"free":{"tokensPerDay":1}}');
    expect(DEFAULT_PLANS.free.tokensPerDay).toBe(5_000);
  });

  it.each([
    ['{"gold":{}}', /gold/],
    ['{"free":{"tokensPerDay":-1}}', /free.tokensPerDay/],
    ['{"free":{"tokensPerDay":1.5}}', /free.tokensPerDay/],
    ['{"free":{"tokenz":1}}', /tokenz/],
  ])("rejects %s", (json, pattern) => {
    expect(() => parsePlanLimits(json)).toThrow(pattern);
  });
});
