import OpenAI from "openai";
import { getConfig } from "@/lib/config";
import { streamDemoAnswer } from "@/lib/llm/demo";
import type { ChatMessage } from "@/lib/llm/tokens";

export type ChatRequest = {
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  signal: AbortSignal;
  /** False asks for the whole answer in one response; it still arrives as one delta and a usage event. Default true. */
  stream?: boolean;
};

/** One event of a streamed answer: a piece of text, or the provider's own token counts. */
export type StreamEvent =
  | { type: "delta"; text: string }
  | { type: "usage"; promptTokens: number; completionTokens: number; cachedPromptTokens?: number };

export type ChatProvider = {
  name: "openai" | "demo";
  stream(request: ChatRequest): AsyncIterable<StreamEvent>;
};

/** The model provider failed: an HTTP error, a refused connection, a timeout or a broken stream. */
export class UpstreamError extends Error {
  override name = "UpstreamError";
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

let client: OpenAI | undefined;

function openaiClient(apiKey: string, baseURL: string | undefined, timeout: number): OpenAI {
  // One retry covers a dropped connection before the stream starts; more would multiply the
  // wait in front of a person who is watching the screen.
  client ??= new OpenAI({ apiKey, baseURL, maxRetries: 1, timeout });
  return client;
}

function usageEvent(usage: OpenAI.CompletionUsage): StreamEvent {
  return {
    type: "usage",
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    cachedPromptTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
  };
}

async function* completeOpenAI(openai: OpenAI, request: ChatRequest): AsyncIterable<StreamEvent> {
  let completion;
  try {
    completion = await openai.chat.completions.create(
      { model: request.model, messages: request.messages, max_tokens: request.maxTokens },
      { signal: request.signal },
    );
  } catch (error) {
    throw toUpstreamError(error, request.signal);
  }
  const text = completion.choices[0]?.message?.content;
  if (text) yield { type: "delta", text };
  if (completion.usage) yield usageEvent(completion.usage);
}

async function* streamOpenAI(openai: OpenAI, request: ChatRequest): AsyncIterable<StreamEvent> {
  if (request.stream === false) {
    yield* completeOpenAI(openai, request);
    return;
  }

  let stream;
  try {
    stream = await openai.chat.completions.create(
      {
        model: request.model,
        messages: request.messages,
        max_tokens: request.maxTokens,
        stream: true,
        // Without this, streamed responses carry no token counts at all.
        stream_options: { include_usage: true },
      },
      { signal: request.signal },
    );
  } catch (error) {
    throw toUpstreamError(error, request.signal);
  }

  try {
    for await (const chunk of stream) {
      // The usage chunk arrives last, with an empty `choices` list.
      const text = chunk.choices[0]?.delta?.content;
      if (text) yield { type: "delta", text };
      if (chunk.usage) yield usageEvent(chunk.usage);
    }
  } catch (error) {
    throw toUpstreamError(error, request.signal);
  }
}

function toUpstreamError(error: unknown, signal: AbortSignal): unknown {
  // An abort is ours, not the provider's failure: let the caller see it as such.
  if (signal.aborted) return error;
  if (error instanceof OpenAI.APIError) {
    return new UpstreamError(`Model provider returned ${error.status ? `HTTP ${error.status}` : "an error without a status"}: ${error.message}`, error.status, {
      cause: error,
    });
  }
  return new UpstreamError(`Model provider request failed: ${(error as Error).message}`, undefined, { cause: error });
}

/** Returns the configured provider: OpenAI (or a compatible server), or the built-in demo model. */
export function getProvider(): ChatProvider {
  const { llm } = getConfig();
  if (llm.kind === "demo") return { name: "demo", stream: streamDemoAnswer };

  const openai = openaiClient(llm.apiKey, llm.baseUrl, llm.timeoutMs);
  return { name: "openai", stream: (request) => streamOpenAI(openai, request) };
}
