import { estimatePromptTokens, type ChatMessage } from "@/lib/llm/tokens";

/**
 * Builds the messages sent to the model: the conversation so far and the new message. When they
 * pass the per-request cap, the oldest turns are dropped first; the new message always stays, so
 * a message that is too long on its own is left for admission to reject.
 */
export function buildPrompt(input: {
  history: ChatMessage[];
  message: string;
  model: string;
  maxPromptTokens: number;
}): { messages: ChatMessage[]; promptTokens: number } {
  const latest: ChatMessage = { role: "user", content: input.message };
  let history = input.history;
  let messages = [...history, latest];
  let promptTokens = estimatePromptTokens(messages, input.model);

  while (promptTokens > input.maxPromptTokens && history.length > 0) {
    // Drop a whole turn (user message and its answer) so the model never sees an answer without its question.
    history = history.slice(history[1]?.role === "assistant" ? 2 : 1);
    messages = [...history, latest];
    promptTokens = estimatePromptTokens(messages, input.model);
  }
  return { messages, promptTokens };
}
