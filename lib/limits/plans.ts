import { z } from "zod";

export const PLAN_NAMES = ["free", "pro", "enterprise"] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** What one plan allows a user. Days are UTC days; the minute window slides. */
export type PlanLimits = {
  tokensPerDay: number;
  requestsPerDay: number;
  requestsPerMinute: number;
  /** Largest prompt, in tokens, one request may send; longer prompts get 413 PROMPT_TOO_LONG. */
  maxPromptTokens: number;
  /** Output cap asked of the model when the day's budget has room for it. */
  maxOutputTokens: number;
};

export type PlanTable = Record<PlanName, PlanLimits>;

export const DEFAULT_PLANS: PlanTable = {
  free: { tokensPerDay: 5_000, requestsPerDay: 20, requestsPerMinute: 3, maxPromptTokens: 2_000, maxOutputTokens: 512 },
  pro: { tokensPerDay: 50_000, requestsPerDay: 200, requestsPerMinute: 10, maxPromptTokens: 8_000, maxOutputTokens: 2_048 },
  enterprise: {
    tokensPerDay: 500_000,
    requestsPerDay: 2_000,
    requestsPerMinute: 50,
    maxPromptTokens: 32_000,
    maxOutputTokens: 4_096,
  },
};

const count = z.number().int().positive();
const planOverride = z
  .object({
    tokensPerDay: count,
    requestsPerDay: count,
    requestsPerMinute: count,
    maxPromptTokens: count,
    maxOutputTokens: count,
  })
  .partial()
  .strict();
const planTableOverride = z.object({ free: planOverride, pro: planOverride, enterprise: planOverride }).partial().strict();

/**
 * Merges a `PLAN_LIMITS` JSON override onto the default plans. Any subset of plans and fields may
 * be given, for example `{"free":{"tokensPerDay":10000}}`. Throws an Error naming the bad field.
 */
export function parsePlanLimits(json: string | undefined): PlanTable {
  if (json === undefined) return DEFAULT_PLANS;

  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('PLAN_LIMITS is not valid JSON; expected an object such as {"free":{"tokensPerDay":10000}}.');
  }

  const result = planTableOverride.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(
      `PLAN_LIMITS is invalid (${problems.join("; ")}). Plans are free, pro and enterprise; fields are ` +
        "tokensPerDay, requestsPerDay, requestsPerMinute, maxPromptTokens and maxOutputTokens, each a positive integer.",
    );
  }

  const plans = structuredClone(DEFAULT_PLANS);
  for (const name of PLAN_NAMES) Object.assign(plans[name], result.data[name]);
  return plans;
}
