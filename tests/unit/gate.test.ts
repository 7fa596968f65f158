import { describe, expect, it } from "vitest";
import { rateLimitHeaders } from "@/lib/limits/gate";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { decideReservation } from "@/lib/limits/store";
import { costMicros, modelsForPlan } from "@/lib/llm/models";
import { buildPrompt } from "@/lib/llm/prompt";
import { estimatePromptTokens } from "@/lib/llm/tokens";

const now = new Date("2026-12-04T12:00:00Z");
const limits = { ...DEFAULT_PLANS.free, maxOutputTokens: 500 };
const input = { userId: "u", limits, promptTokens: 100, maxOutputTokens: 500, minOutputTokens: 16, now };
const empty = { requestsThisMinute: 0, oldestInMinute: null, requestsToday: 0, tokensToday: 0 };

describe("decideReservation", () => {
  it("reserves the prompt plus the full output cap when there is room", () => {
    expect(decideReservation(input, empty)).toEqual({ admitted: true, outputCap: 500, reservedTokens: 600 });
  });

  it("clamps the output cap to the budget left", () => {
    expect(decideReservation(input, { ...empty, tokensToday: 4_700 })).toEqual({ admitted: true, outputCap: 200, reservedTokens: 300 });
  });

  it("refuses when the cap would fall below the minimum", () => {
    const decision = decideReservation(input, { ...empty, tokensToday: 4_890 });
    expect(decision).toEqual({ admitted: false, code: "DAILY_TOKEN_LIMIT", retryAfterSeconds: 12 * 3600 });
  });

  it("checks the minute window first and times its reset from the oldest request", () => {
    const oldest = new Date(now.getTime() - 20_000);
    const decision = decideReservation(input, { ...empty, requestsThisMinute: 3, oldestInMinute: oldest, requestsToday: 20 });
    expect(decision).toEqual({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 40 });
  });

  it("refuses at the daily request limit", () => {
    const decision = decideReservation(input, { ...empty, requestsToday: 20 });
    expect(decision).toMatchObject({ admitted: false, code: "DAILY_REQUEST_LIMIT" });
  });
});

describe("rateLimitHeaders", () => {
  it("reports the smaller of the minute's and the day's remaining requests", () => {
    const headers = rateLimitHeaders(
      limits,
      { requestsThisMinute: 1, requestsToday: 19, tokensToday: 1_000, minuteResetAt: new Date(now.getTime() + 30_000), dayResetAt: new Date("2026-12-05T00:00:00Z") },
      now,
    );
    expect(headers).toEqual({
      "X-RateLimit-Limit-Requests": "3",
      "X-RateLimit-Remaining-Requests": "1",
      "X-RateLimit-Remaining-Tokens": "4000",
      "X-RateLimit-Reset": String(12 * 3600),
    });
  });
});

describe("costMicros", () => {
  it("prices prompt and completion tokens per million", () => {
    // gpt-4o-mini: $0.15 in and $0.60 out per million tokens.
    expect(costMicros("gpt-4o-mini", { promptTokens: 1_000_000, completionTokens: 0 })).toBe(150_000);
    expect(costMicros("gpt-4o-mini", { promptTokens: 100, completionTokens: 50 })).toBe(45);
  });

  it("rounds a fraction of a micro-dollar up, never to zero", () => {
    expect(costMicros("gpt-4o-mini", { promptTokens: 1, completionTokens: 0 })).toBe(1);
  });

  it("throws for a model without a price", () => {
    expect(() => costMicros("mystery", { promptTokens: 1, completionTokens: 1 })).toThrow(/No price/);
  });
});

describe("modelsForPlan", () => {
  it("offers only the demo model in demo mode", () => {
    expect(modelsForPlan("enterprise", "tollgate-demo")).toEqual(["tollgate-demo"]);
  });

  it("puts the default model first", () => {
    expect(modelsForPlan("free", "gpt-4.1-nano")).toEqual(["gpt-4.1-nano", "gpt-4o-mini"]);
  });
});

describe("buildPrompt", () => {
  const history = Array.from({ length: 10 }, (_, index) => ({
    role: index % 2 === 0 ? ("user" as const) : ("assistant" as const),
    content: `turn ${index} `.repeat(20),
  }));

  it("keeps the whole history when it fits", () => {
    const { messages, promptTokens } = buildPrompt({ history, message: "hello", model: "gpt-4o-mini", maxPromptTokens: 10_000 });
    expect(messages).toHaveLength(11);
    expect(promptTokens).toBe(estimatePromptTokens(messages, "gpt-4o-mini"));
  });

  it("drops the oldest whole turns first", () => {
    const { messages, promptTokens } = buildPrompt({ history, message: "hello", model: "gpt-4o-mini", maxPromptTokens: 300 });
    expect(promptTokens).toBeLessThanOrEqual(300);
    expect(messages.at(-1)).toEqual({ role: "user", content: "hello" });
    expect(messages[0]!.role).toBe("user");
    expect(messages[0]!.content).not.toContain("turn 0 ");
  });

  it("keeps the new message even when it alone is too long", () => {
    const { messages } = buildPrompt({ history, message: "word ".repeat(500), model: "gpt-4o-mini", maxPromptTokens: 100 });
    expect(messages).toHaveLength(1);
  });
});

describe("estimatePromptTokens", () => {
  it("counts chat framing", () => {
    // 3 tokens around each message, 3 priming the reply, and 1 each for "user" and "hello".
    expect(estimatePromptTokens([{ role: "user", content: "hello" }], "gpt-4o-mini")).toBe(8);
  });

  it("treats special-token text as plain text", () => {
    expect(estimatePromptTokens([{ role: "user", content: "<|endoftext|>" }], "gpt-4o-mini")).toBeGreaterThan(8);
  });

  it("adds a margin for a model the tokenizer does not know", () => {
    const messages = [{ role: "user" as const, content: "hello there, how are you today?" }];
    expect(estimatePromptTokens(messages, "local-llama")).toBeGreaterThan(estimatePromptTokens(messages, "gpt-4o"));
  });
});
