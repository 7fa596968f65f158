import { describe, expect, it } from "vitest";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import {
  findAnomalies,
  hasSteadyRhythm,
  isAroundTheClock,
  isNearLimit,
  isSpendSpike,
  type RhythmStats,
  type UsageForFlags,
} from "@/lib/usage/flags";

const quiet: RhythmStats = { requests: 0, meanGapSeconds: null, gapStdDevSeconds: null, activeHours: 0 };

function usage(overrides: Partial<UsageForFlags> = {}): UsageForFlags {
  return { plan: "free", requestsToday: 0, tokensToday: 0, costTodayUsd: 0, averageDailyCostUsd: 0, rhythm: quiet, ...overrides };
}

describe("near-limit flag", () => {
  const free = DEFAULT_PLANS.free;

  it.each([
    [15, 0, false],
    [16, 0, true],
    [0, 3_999, false],
    [0, 4_000, true],
    [20, 5_000, true],
  ])("free plan, %i requests and %i tokens: %s", (requestsToday, tokensToday, expected) => {
    expect(isNearLimit({ requestsToday, tokensToday }, free)).toBe(expected);
  });
});

describe("spend spike flag", () => {
  it("flags five times the recent average", () => {
    expect(isSpendSpike({ costTodayUsd: 0.51, averageDailyCostUsd: 0.1 })).toBe(true);
  });

  it("ignores spend at five times the average or below", () => {
    expect(isSpendSpike({ costTodayUsd: 0.5, averageDailyCostUsd: 0.1 })).toBe(false);
  });

  it("ignores amounts under five cents", () => {
    expect(isSpendSpike({ costTodayUsd: 0.049, averageDailyCostUsd: 0 })).toBe(false);
  });

  it("flags a user without history from five cents", () => {
    expect(isSpendSpike({ costTodayUsd: 0.05, averageDailyCostUsd: 0 })).toBe(true);
  });
});

describe("steady rhythm flag", () => {
  it("flags gaps that vary by 10% of their mean", () => {
    expect(hasSteadyRhythm({ requests: 20, meanGapSeconds: 60, gapStdDevSeconds: 6, activeHours: 1 })).toBe(true);
  });

  it("ignores gaps that vary by more", () => {
    expect(hasSteadyRhythm({ requests: 500, meanGapSeconds: 60, gapStdDevSeconds: 6.6, activeHours: 9 })).toBe(false);
  });

  it("ignores fewer than 20 requests", () => {
    expect(hasSteadyRhythm({ requests: 19, meanGapSeconds: 60, gapStdDevSeconds: 0, activeHours: 1 })).toBe(false);
  });

  it("leaves requests at one instant to the rate limit", () => {
    expect(hasSteadyRhythm({ requests: 30, meanGapSeconds: 0, gapStdDevSeconds: 0, activeHours: 1 })).toBe(false);
  });
});

describe("around-the-clock flag", () => {
  it("flags requests in 20 of 24 hours", () => {
    expect(isAroundTheClock({ requests: 25, meanGapSeconds: 3_000, gapStdDevSeconds: 2_000, activeHours: 20 })).toBe(true);
  });

  it("ignores 19 active hours", () => {
    expect(isAroundTheClock({ requests: 60, meanGapSeconds: 1_000, gapStdDevSeconds: 900, activeHours: 19 })).toBe(false);
  });
});

describe("flagUsers", () => {
  it("lists anomalies in a fixed order", () => {
    const rhythm: RhythmStats = { requests: 24, meanGapSeconds: 3_600, gapStdDevSeconds: 10, activeHours: 24 };
    expect(findAnomalies(usage({ costTodayUsd: 1, rhythm }))).toEqual(["spend-spike", "steady-rhythm", "around-the-clock"]);
  });

  it("judges near-limit by the user's plan", () => {
    expect(isNearLimit(usage({ requestsToday: 18 }), DEFAULT_PLANS.free)).toBe(true);
    expect(isNearLimit(usage({ requestsToday: 18 }), DEFAULT_PLANS.pro)).toBe(false);
  });
});
