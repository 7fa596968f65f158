import { z } from "zod";
import type { PlanName } from "@/lib/limits/plans";

/** List prices in US dollars per million tokens. */
export type ModelPrice = { input: number; cachedInput: number; output: number };
export type PriceTable = Record<string, ModelPrice>;

export const DEMO_MODEL = "tollgate-demo";

// OpenAI's standard-tier list prices, taken from public price listings in November 2026. Prices
// change: check them against OpenAI's pricing page, and override or extend them with MODEL_PRICES. The demo model costs nothing to run but is priced like gpt-4o-mini, so budgets
// and dashboards behave as they would with a real model.
export const DEFAULT_MODEL_PRICES: PriceTable = {
  "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 },
  "gpt-4o": { input: 2.5, cachedInput: 1.25, output: 10 },
  "gpt-4.1-nano": { input: 0.1, cachedInput: 0.025, output: 0.4 },
  "gpt-4.1-mini": { input: 0.4, cachedInput: 0.1, output: 1.6 },
  "gpt-4.1": { input: 2, cachedInput: 0.5, output: 8 },
  [DEMO_MODEL]: { input: 0.15, cachedInput: 0.075, output: 0.6 },
};

const dollarsPerMillion = z.number().finite().nonnegative();
const priceOverride = z
  .object({ input: dollarsPerMillion, cachedInput: dollarsPerMillion.optional(), output: dollarsPerMillion })
  .strict();
const priceTableOverride = z.record(z.string().min(1).max(100), priceOverride);

/**
 * Merges a `MODEL_PRICES` JSON override onto the default prices, for example
 * `{"llama-3.1-8b":{"input":0.05,"output":0.08}}`. A missing cached-input price equals the input
 * price. Throws an Error naming the bad entry.
 */
export function parseModelPrices(json: string | undefined): PriceTable {
  if (json === undefined) return DEFAULT_MODEL_PRICES;

  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('MODEL_PRICES is not valid JSON; expected an object such as {"my-model":{"input":0.5,"output":1.5}}.');
  }

  const result = priceTableOverride.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new Error(
      `MODEL_PRICES is invalid (${problems.join("; ")}). Each model needs "input" and "output" (and may have ` +
        '"cachedInput"), in US dollars per million tokens, each a number of 0 or more.',
    );
  }

  const prices = { ...DEFAULT_MODEL_PRICES };
  for (const [model, price] of Object.entries(result.data)) {
    prices[model] = { input: price.input, cachedInput: price.cachedInput ?? price.input, output: price.output };
  }
  return prices;
}

// Models each plan may pick, besides the app's default model, which every plan may use.
const PLAN_MODELS: Record<PlanName, string[]> = {
  free: ["gpt-4o-mini", "gpt-4.1-nano"],
  pro: ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o"],
  enterprise: ["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o", "gpt-4.1"],
};

/** Lists the models a plan may use, the default model first; models without a price are left out. */
export function modelsForPlan(plan: PlanName, defaultModel: string, prices: PriceTable = DEFAULT_MODEL_PRICES): string[] {
  if (defaultModel === DEMO_MODEL) return [DEMO_MODEL];
  return [defaultModel, ...PLAN_MODELS[plan].filter((model) => model !== defaultModel && prices[model])];
}

export type BilledTokens = {
  promptTokens: number;
  completionTokens: number;
  /** The part of the prompt the provider served from its cache, billed at the cached-input price. */
  cachedPromptTokens?: number;
};

/**
 * Returns the cost of a call in integer micro-dollars, rounded up. A price per million tokens in
 * dollars equals a price per token in micro-dollars, so no scaling is needed.
 */
export function costMicros(model: string, usage: BilledTokens, prices: PriceTable = DEFAULT_MODEL_PRICES): number {
  const price = prices[model];
  if (!price) throw new Error(`No price for model "${model}". Add it to MODEL_PRICES.`);
  const cached = Math.min(usage.cachedPromptTokens ?? 0, usage.promptTokens);
  return Math.ceil((usage.promptTokens - cached) * price.input + cached * price.cachedInput + usage.completionTokens * price.output);
}
