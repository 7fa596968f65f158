import { encode, encodeChat } from "gpt-tokenizer";

export type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

// User text that looks like a special token (for example "<|endoftext|>") is ordinary text to
// the model: OpenAI encodes it as such, and the tokenizer would otherwise throw on it.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// The framing this tokenizer uses for chat models of the GPT-4o family: 3 tokens around each
// message and 3 priming the reply. Models it does not know are counted with this framing too.
const FALLBACK_CHAT_MODEL = "gpt-4o";

// Models the tokenizer does not know may use another vocabulary, so their estimate gets 10% more.
const UNKNOWN_MODEL_MARGIN = 1.1;

/** Counts the tokens of plain text, such as a streamed answer. */
export function countTokens(text: string): number {
  return encode(text, AS_PLAIN_TEXT).length;
}

/**
 * Estimates the prompt tokens a chat request will be billed for, chat framing included. For
 * OpenAI models the tokenizer supports, it equals what the API reports. For other models it adds
 * a 10% margin, an estimate that a different vocabulary may still exceed.
 */
export function estimatePromptTokens(messages: ChatMessage[], model: string): number {
  try {
    return encodeChat(messages, model as Parameters<typeof encodeChat>[1], AS_PLAIN_TEXT).length;
  } catch {
    return Math.ceil(encodeChat(messages, FALLBACK_CHAT_MODEL, AS_PLAIN_TEXT).length * UNKNOWN_MODEL_MARGIN);
  }
}
