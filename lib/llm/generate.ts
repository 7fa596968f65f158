import { z } from "zod";
import type { User } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { ApiError } from "@/lib/errors";
import { admitRequest } from "@/lib/limits/gate";
import { runMeteredCall } from "@/lib/llm/metered-call";
import { getProvider } from "@/lib/llm/provider";
import { estimatePromptTokens, type ChatMessage } from "@/lib/llm/tokens";

export const GENERATE_TASKS = ["improve", "summarize", "shorten"] as const;
export type GenerateTask = (typeof GENERATE_TASKS)[number];

// Checked before tokenising, so an enormous body costs no CPU; the plan's token cap applies after.
export const MAX_GENERATE_CHARACTERS = 100_000;

const INSTRUCTIONS: Record<GenerateTask, string> = {
  improve: "Rewrite the user's text so it reads clearly and correctly. Keep its meaning, language and tone. Reply with the rewritten text only.",
  summarize: "Summarise the user's text in a few sentences, in the text's own language. Reply with the summary only.",
  shorten: "Shorten the user's text to about half its length, keeping every important point, in the text's own language. Reply with the shorter text only.",
};

export const generateInputSchema = z.object({
  prompt: z
    .string({ message: "a text is required" })
    .refine((text) => text.trim().length > 0, { message: "the text is empty" }),
  task: z.enum(GENERATE_TASKS, { message: `must be one of ${GENERATE_TASKS.join(", ")}` }).default("improve"),
});

export type GenerateResult = {
  text: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number; costUsd: number };
  requestId: string;
  headers: Record<string, string>;
};

/**
 * Runs one writing task for a signed-in user, as feature "generate": admitted by the gate,
 * called without streaming, settled and recorded like a chat call. Throws the
 * contract's ApiError when the request is rejected or the model fails.
 */
export async function runGenerateTask(input: {
  user: User;
  prompt: string;
  task: GenerateTask;
  requestId: string;
  signal?: AbortSignal;
}): Promise<GenerateResult> {
  const { user, prompt, task, requestId } = input;
  if (prompt.length > MAX_GENERATE_CHARACTERS) {
    throw new ApiError(
      "PROMPT_TOO_LONG",
      `The text is longer than ${MAX_GENERATE_CHARACTERS.toLocaleString("en-US")} characters. Shorten it and try again.`,
    );
  }

  const { plans, llm } = getConfig();
  const limits = plans[user.plan];
  const model = llm.model;
  const messages: ChatMessage[] = [
    { role: "system", content: INSTRUCTIONS[task] },
    { role: "user", content: prompt },
  ];
  const promptTokens = estimatePromptTokens(messages, model);
  const admission = await admitRequest({ userId: user.id, limits, promptTokens, model, feature: "generate", requestId });

  const result = await runMeteredCall({
    userId: user.id,
    requestId,
    feature: "generate",
    model,
    messages,
    estimatedPromptTokens: promptTokens,
    admission,
    provider: getProvider(),
    chatId: null,
    signal: input.signal ?? new AbortController().signal,
    stream: false,
  });
  if (result.status !== "ok") throw new ApiError("UPSTREAM_ERROR");

  const { promptTokens: used, completionTokens } = result.usage;
  return {
    text: result.text,
    usage: { promptTokens: used, completionTokens, totalTokens: used + completionTokens, costUsd: result.costMicros / 1_000_000 },
    requestId,
    headers: { "X-Request-Id": requestId, ...admission.headers },
  };
}
