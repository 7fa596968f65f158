import type { PlanName } from "@/lib/limits/plans";

/** List prices in US dollars per million tokens. */
export type ModelPrice = { input: number; cachedInput: number; output: number };

export const DEMO_MODEL = "tollgate-demo";

// OpenAI's published standard-tier list prices. The demo model costs nothing to run but is
// priced like gpt-4o-mini, so budgets and dashboards behave as they would with a real model.
export const MODEL_PRICES: Record<string, ModelPrice> = {
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  [DEMO_MODEL]: { input: 0.15, cachedInput: 0.075, output: 0.6 },
};

// Models each plan may pick, besides the app's default model, which every plan may use.
const PLAN_MODELS: Record<PlanName, string[]> = {
  free: ["gpt-4o-mini", "gpt-4.1-nano"],
  pro: ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o"],
  enterprise: ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o", "gpt-4.1"],
};

/** Lists the models a plan may use, the default model first. */
export function modelsForPlan(plan: PlanName, defaultModel: string): string[] {
  if (defaultModel === DEMO_MODEL) return [DEMO_MODEL];
  return [defaultModel, ...PLAN_MODELS[plan].filter((model) => model !== defaultModel)];
}

/**
 * Returns the cost of a call in integer micro-dollars, rounded up. A price per million tokens in
 * dollars equals a price per token in micro-dollars, so no scaling is needed.
 */
export function costMicros(model: string, usage: { promptTokens: number; completionTokens: number }): number {
  const price = MODEL_PRICES[model];
  if (!price) throw new Error(`No price for model "${model}".`);
  return Math.ceil(usage.promptTokens * price.input + usage.completionTokens * price.output);
}
