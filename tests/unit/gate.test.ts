import { describe, expect, it } from "vitest";
import { rateLimitHeaders } from "@/lib/limits/gate";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { decideReservation } from "@/lib/limits/store";
import { costMicros, modelsForPlan } from "@/lib/llm/models";
import { buildPrompt } from "@/lib/llm/prompt";
import { estimatePromptTokens } from "@/lib/llm/tokens";

const now = new Date("2026-12-04T12:00:00Z");
const midnight = new Date("2026-12-05T00:00:00Z");
const limits = { ...DEFAULT_PLANS.free, maxOutputTokens: 500 };
const input = { userId: "u", limits, promptTokens: 100, maxOutputTokens: 500, minOutputTokens: 16, now };
const empty = { requestsThisMinute: 0, oldestInMinute: null, blockingInMinute: null, requestsToday: 0, tokensToday: 0 };

describe("decideReservation", () => {
  it("reserves the prompt plus the full output cap when there is room", () => {
    expect(decideReservation(input, empty)).toEqual({ admitted: true, outputCap: 500, reservedTokens: 600 });
  });

  it("clamps the output cap to the budget left", () => {
    expect(decideReservation(input, { ...empty, tokensToday: 4_700 })).toEqual({ admitted: true, outputCap: 200, reservedTokens: 300 });
  });

  it("rejects when the cap would fall below the minimum", () => {
    const decision = decideReservation(input, { ...empty, tokensToday: 4_890 });
    expect(decision).toEqual({ admitted: false, code: "DAILY_TOKEN_LIMIT", retryAfterSeconds: 12 * 3600 });
  });

  it("times a full minute window from the oldest request", () => {
    const oldest = new Date(now.getTime() - 20_000);
    const decision = decideReservation(input, { ...empty, requestsThisMinute: 3, oldestInMinute: oldest, blockingInMinute: oldest });
    expect(decision).toEqual({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 40 });
  });

  it("times an overfull minute window from the blocking request", () => {
    const oldest = new Date(now.getTime() - 50_000);
    const blocking = new Date(now.getTime() - 10_000);
    const decision = decideReservation(input, { ...empty, requestsThisMinute: 5, oldestInMinute: oldest, blockingInMinute: blocking });
    expect(decision).toEqual({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 50 });
  });

  it("waits at most a minute for a later admission", () => {
    // A parallel request that read the clock 300 ms after this one was admitted first.
    const later = new Date(now.getTime() + 300);
    const decision = decideReservation(input, { ...empty, requestsThisMinute: 3, oldestInMinute: later, blockingInMinute: later });
    expect(decision).toEqual({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 60 });
  });

  it("rejects at the daily request limit", () => {
    const decision = decideReservation(input, { ...empty, requestsToday: 20 });
    expect(decision).toEqual({ admitted: false, code: "DAILY_REQUEST_LIMIT", retryAfterSeconds: 12 * 3600 });
  });

  it("names the daily limit when the minute window frees up sooner", () => {
    const oldest = new Date(now.getTime() - 20_000);
    const decision = decideReservation(input, { ...empty, requestsThisMinute: 3, oldestInMinute: oldest, blockingInMinute: oldest, requestsToday: 20 });
    expect(decision).toMatchObject({ admitted: false, code: "DAILY_REQUEST_LIMIT" });
  });

  it("names the minute window when it frees up after midnight", () => {
    const lateNow = new Date(midnight.getTime() - 10_000);
    const oldest = new Date(lateNow.getTime() - 20_000);
    const decision = decideReservation(
      { ...input, now: lateNow },
      { ...empty, requestsThisMinute: 3, oldestInMinute: oldest, blockingInMinute: oldest, requestsToday: 20 },
    );
    expect(decision).toEqual({ admitted: false, code: "RATE_LIMITED", retryAfterSeconds: 40 });
  });
});

describe("rateLimitHeaders", () => {
  const snapshot = { requestsThisMinute: 1, requestsToday: 0, tokensToday: 0, minuteResetAt: new Date(now.getTime() + 30_000), dayResetAt: midnight };

  it("reports the smaller of the minute's and the day's remaining requests", () => {
    const headers = rateLimitHeaders(limits, { ...snapshot, requestsToday: 19, tokensToday: 1_000 }, now, 100);
    expect(headers).toEqual({
      "X-RateLimit-Limit-Requests": "3",
      "X-RateLimit-Remaining-Requests": "1",
      "X-RateLimit-Remaining-Tokens": "4000",
      "X-RateLimit-Reset": String(12 * 3600),
    });
  });

  it("resets with the minute window when the minute is the bound", () => {
    const headers = rateLimitHeaders(limits, snapshot, now, 100);
    expect(headers["X-RateLimit-Remaining-Requests"]).toBe("2");
    expect(headers["X-RateLimit-Reset"]).toBe("30");
  });

  it.each([
    // 5,000 - 3,900 = 1,100 left: one request of 100 + 500, then one clamped to 100 + 400.
    [3_900, 100, "2"],
    // 116 left is exactly a 100-token prompt and the minimum output cap.
    [4_884, 100, "1"],
    [4_885, 100, "0"],
    // A larger prompt fits fewer times.
    [3_900, 600, "1"],
  ])("counts what %i tokens used leave for %i-token prompts", (tokensToday, promptTokens, remaining) => {
    const headers = rateLimitHeaders(limits, { ...snapshot, requestsThisMinute: 0, tokensToday }, now, promptTokens);
    expect(headers["X-RateLimit-Remaining-Requests"]).toBe(remaining);
  });

  it("reports no tokens once no request fits", () => {
    const headers = rateLimitHeaders(limits, { ...snapshot, tokensToday: 4_984 }, now, 100);
    expect(headers["X-RateLimit-Remaining-Tokens"]).toBe("0");
    expect(headers["X-RateLimit-Reset"]).toBe(String(12 * 3600));
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
