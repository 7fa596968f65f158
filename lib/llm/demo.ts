import type { ChatRequest, StreamEvent } from "@/lib/llm/provider";
import { countTokens, estimatePromptTokens } from "@/lib/llm/tokens";

// Pause between streamed pieces, so the demo streams at a pace a person can watch.
const PIECE_DELAY_MS = 25;

function composeAnswer(question: string): string {
  const quoted = question.length > 120 ? `${question.slice(0, 117)}...` : question;
  return [
    `This is Tollgate's built-in demo model, so no API key is spent on this answer. You wrote: "${quoted}".`,
    "Before this reply was generated, Tollgate checked who you are, reserved tokens against your plan's daily " +
      "budget, and counted this request against your per-minute and per-day limits. When the answer is complete, the " +
      "reservation is settled to the tokens actually used, and a usage row with the model, tokens, cost and " +
      "latency is written. Open the usage dashboard to see it.",
    "To talk to a real model, set OPENAI_API_KEY (and OPENAI_BASE_URL for any OpenAI-compatible server).",
  ].join("\n\n");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Streams a fixed explanation of what Tollgate did, word by word, and reports usage counted with
 * the same tokenizer as admission.
 */
export async function* streamDemoAnswer(request: ChatRequest): AsyncIterable<StreamEvent> {
  const question = request.messages.findLast((message) => message.role === "user")?.content ?? "";
  // Pieces are whole words, so no piece ends inside a multi-byte character. Like a real model,
  // the answer stops where the next piece would pass `maxTokens`.
  const pieces = composeAnswer(question).match(/\s*\S+/g) ?? [];
  let sent = "";

  for (const piece of pieces) {
    if (countTokens(sent + piece) > request.maxTokens) break;
    if (request.stream !== false) await sleep(PIECE_DELAY_MS, request.signal);
    sent += piece;
    yield { type: "delta", text: piece };
  }
  yield { type: "usage", promptTokens: estimatePromptTokens(request.messages, "gpt-4o-mini"), completionTokens: countTokens(sent) };
}
