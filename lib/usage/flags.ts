import { sql, type SQL } from "drizzle-orm";
import type { PlanLimits } from "@/lib/limits/plans";

// Flags that point an admin at users worth a look. They only inform: the gate's limits are what
// stop a user, and no flag rejects a request. Each flag is defined twice, side by side: as a
// TypeScript predicate and as the SQL expression with which the admin list filters, counts and
// pages 10,000 users in the database. tests/integration/admin.test.ts checks that both agree.

/** Share of a daily limit from which a user counts as near it. The dashboard warns from there too. */
export const NEAR_LIMIT_SHARE = 0.8;

/** Days before today whose average daily spend is "the user's own recent days". */
export const RECENT_DAYS = 7;
/** Today's spend is a spike when it passes this multiple of the user's average over RECENT_DAYS... */
export const SPEND_SPIKE_MULTIPLE = 5;
/** ...and is at least this many dollars, so a user going from one cent to six is not flagged. */
export const SPEND_SPIKE_MIN_USD = 0.05;

/** The rhythm flags look at the requests of the last this many hours. */
export const RHYTHM_WINDOW_HOURS = 24;
/** Fewer requests than this in the window never count as a machine's rhythm. */
export const RHYTHM_MIN_REQUESTS = 20;
/**
 * Largest coefficient of variation (standard deviation over mean) of the gaps between requests
 * that counts as steady. A script that sleeps a fixed time between calls, even with ±10% jitter,
 * stays under 0.06. A person's gaps vary by more than their mean.
 */
export const STEADY_GAP_MAX_VARIATION = 0.1;
/** Requests in at least this many of the day's 24 hours (UTC) leave no time for sleep. */
export const AROUND_THE_CLOCK_MIN_HOURS = 20;

/** A user's requests in the last RHYTHM_WINDOW_HOURS, as computed in SQL by the admin list. */
export type RhythmStats = {
  requests: number;
  /** Mean and population standard deviation of the gaps between consecutive requests, in seconds. Null with fewer than 2 requests. */
  meanGapSeconds: number | null;
  gapStdDevSeconds: number | null;
  /** Distinct hours of the day (UTC, 0 to 23) with at least one request. */
  activeHours: number;
};

export type UsageForFlags = {
  plan: string;
  requestsToday: number;
  tokensToday: number;
  costTodayUsd: number;
  /** Average daily spend over the RECENT_DAYS days before today, idle days included. */
  averageDailyCostUsd: number;
  rhythm: RhythmStats;
};

/** Reason a user's usage looks unlike a person's. */
export type Anomaly = "spend-spike" | "steady-rhythm" | "around-the-clock";

export const ANOMALY_LABELS: Record<Anomaly, { label: string; description: string }> = {
  "spend-spike": {
    label: "Spend spike",
    description: `Today's spend is over ${SPEND_SPIKE_MULTIPLE} times the user's average day over the previous ${RECENT_DAYS} days.`,
  },
  "steady-rhythm": {
    label: "Steady rhythm",
    description: `At least ${RHYTHM_MIN_REQUESTS} requests in ${RHYTHM_WINDOW_HOURS} hours at near-constant gaps, as a script sends them.`,
  },
  "around-the-clock": {
    label: "Around the clock",
    description: `Requests in ${AROUND_THE_CLOCK_MIN_HOURS} or more of the day's 24 hours (UTC) within the last ${RHYTHM_WINDOW_HOURS} hours, with no break for sleep.`,
  },
};

/** Tells whether today's requests or tokens have reached NEAR_LIMIT_SHARE of the plan's daily limits. */
export function isNearLimit(usage: Pick<UsageForFlags, "requestsToday" | "tokensToday">, limits: PlanLimits): boolean {
  return usage.tokensToday >= limits.tokensPerDay * NEAR_LIMIT_SHARE || usage.requestsToday >= limits.requestsPerDay * NEAR_LIMIT_SHARE;
}

/** Tells whether today's spend is far above the user's own recent days. A user with no history counts from zero. */
export function isSpendSpike(usage: Pick<UsageForFlags, "costTodayUsd" | "averageDailyCostUsd">): boolean {
  return usage.costTodayUsd >= SPEND_SPIKE_MIN_USD && usage.costTodayUsd > usage.averageDailyCostUsd * SPEND_SPIKE_MULTIPLE;
}

/**
 * Tells whether the gaps between the window's requests are near-constant. Requests that all
 * arrive at one instant (a mean gap of 0) are left to the per-minute limit.
 */
export function hasSteadyRhythm(rhythm: RhythmStats): boolean {
  if (rhythm.requests < RHYTHM_MIN_REQUESTS) return false;
  if (rhythm.meanGapSeconds === null || rhythm.gapStdDevSeconds === null || rhythm.meanGapSeconds <= 0) return false;
  // Multiplied rather than divided, as in the SQL form, where a division by a zero mean could fail.
  return rhythm.gapStdDevSeconds <= rhythm.meanGapSeconds * STEADY_GAP_MAX_VARIATION;
}

/** Tells whether the window's requests fill nearly every hour of the day. */
export function isAroundTheClock(rhythm: RhythmStats): boolean {
  return rhythm.requests >= RHYTHM_MIN_REQUESTS && rhythm.activeHours >= AROUND_THE_CLOCK_MIN_HOURS;
}

/** Lists every anomaly a user's usage shows, in a fixed order. */
export function findAnomalies(usage: UsageForFlags): Anomaly[] {
  const anomalies: Anomaly[] = [];
  if (isSpendSpike(usage)) anomalies.push("spend-spike");
  if (hasSteadyRhythm(usage.rhythm)) anomalies.push("steady-rhythm");
  if (isAroundTheClock(usage.rhythm)) anomalies.push("around-the-clock");
  return anomalies;
}

export type Flags = { nearLimit: boolean; anomaly: boolean; anomalies: Anomaly[] };

/** SQL expressions for the figures the flags read, in the units of the database (micro-dollars, seconds). */
export type FlagInputsSql = {
  requestsToday: SQL;
  tokensToday: SQL;
  costTodayMicros: SQL;
  /** Total spend of the RECENT_DAYS days before today. */
  recentCostMicros: SQL;
  requestsPerDay: SQL;
  tokensPerDay: SQL;
  rhythmRequests: SQL;
  meanGapSeconds: SQL;
  gapStdDevSeconds: SQL;
  activeHours: SQL;
};

/**
 * Returns each flag as a boolean SQL expression over `inputs`, the same tests as isNearLimit,
 * isSpendSpike, hasSteadyRhythm and isAroundTheClock. Null inputs (a user without rows) count as 0.
 */
export function flagsSql(inputs: FlagInputsSql): Record<"nearLimit" | Anomaly, SQL> {
  const zeroIfNull = (value: SQL) => sql`coalesce(${value}, 0)::float8`;
  const requestsToday = zeroIfNull(inputs.requestsToday);
  const costToday = zeroIfNull(inputs.costTodayMicros);
  const rhythmRequests = zeroIfNull(inputs.rhythmRequests);
  const meanGap = zeroIfNull(inputs.meanGapSeconds);
  const share = sql`${NEAR_LIMIT_SHARE}::float8`;

  return {
    nearLimit: sql`(${zeroIfNull(inputs.tokensToday)} >= ${inputs.tokensPerDay} * ${share} or ${requestsToday} >= ${inputs.requestsPerDay} * ${share})`,
    "spend-spike": sql`(${costToday} >= ${SPEND_SPIKE_MIN_USD * 1_000_000}::float8
      and ${costToday} > ${zeroIfNull(inputs.recentCostMicros)} / ${RECENT_DAYS}::float8 * ${SPEND_SPIKE_MULTIPLE}::float8)`,
    "steady-rhythm": sql`(${rhythmRequests} >= ${RHYTHM_MIN_REQUESTS}::float8 and ${meanGap} > 0
      and ${zeroIfNull(inputs.gapStdDevSeconds)} <= ${meanGap} * ${STEADY_GAP_MAX_VARIATION}::float8)`,
    "around-the-clock": sql`(${rhythmRequests} >= ${RHYTHM_MIN_REQUESTS}::float8 and ${zeroIfNull(inputs.activeHours)} >= ${AROUND_THE_CLOCK_MIN_HOURS}::float8)`,
  };
}
