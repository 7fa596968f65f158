import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimatePromptTokens, type ChatMessage } from "@/lib/llm/tokens";
import { startOpenAIServer, type OpenAIServer } from "@/e2e/openai-server";

// Admission reserves the estimated prompt tokens, and the bill uses the prompt tokens the model
// server reports. For models in the tokenizer's tables the tolerance is 0: the estimate must never
// be below the report. The local server counts with the same tokenizer and framing, so these cases guard the
// framing and the text handling, not OpenAI's own counts.
const TOLERANCE_TOKENS = 0;

let server: OpenAIServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAIServer();
  client = new OpenAI({ apiKey: "sk-test-local", baseURL: server.url, maxRetries: 0 });
});

afterAll(() => server.close());

async function reportedPromptTokens(model: string, messages: ChatMessage[]): Promise<number> {
  const completion = await client.chat.completions.create({ model, messages, max_tokens: 1 });
  return completion.usage!.prompt_tokens;
}

const twentyTurns: ChatMessage[] = Array.from({ length: 20 }, (_, index) => ({
  role: index % 2 === 0 ? "user" : "assistant",
  content: `Turn ${index}: ${"a longer sentence about tollgates, budgets and tokens ".repeat(index % 4 + 1)}`,
}));

const cases: Array<[string, ChatMessage[]]> = [
  ["a one-message chat", [{ role: "user", content: "How much does this request cost?" }]],
  ["a 20-turn chat", twentyTurns],
  ["a system prompt only", [{ role: "system", content: "You are a careful assistant that answers in one sentence." }]],
  ["emoji and non-Latin scripts", [{ role: "user", content: "Grüße 👋🏽 — 你好，世界 — مرحبا بالعالم — Привет, мир — नमस्ते 🙏 🇯🇵" }]],
];

describe("prompt token estimate", () => {
  it.each(cases)("is not below the reported count for %s", async (_case, messages) => {
    for (const model of ["gpt-4o-mini", "gpt-4.1-nano"]) {
      const reported = await reportedPromptTokens(model, messages);
      const estimated = estimatePromptTokens(messages, model);
      expect(estimated, model).toBeGreaterThanOrEqual(reported - TOLERANCE_TOKENS);
    }
  });

  it.each(cases)("adds a margin for a model the tokenizer does not know, for %s", async (_case, messages) => {
    const reported = await reportedPromptTokens("local-llama", messages);
    expect(estimatePromptTokens(messages, "local-llama")).toBeGreaterThanOrEqual(reported);
  });
});
