import { encode, encodeChat } from "gpt-tokenizer";
import OpenAI from "openai";
import type { ChatCompletionChunk, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIServer, type CapturedRequest, type OpenAIServer } from "./openai-server";

const MODEL = "gpt-4o-mini";
const MESSAGES: ChatCompletionMessageParam[] = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is a token bucket?" },
];

let server: OpenAIServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startOpenAIServer();
  // maxRetries 0: the SDK would otherwise retry 5xx responses and dropped connections.
  client = new OpenAI({ apiKey: "test-key", baseURL: server.url, maxRetries: 0 });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.reset();
});

function lastRequest(): CapturedRequest {
  const request = server.requests.at(-1);
  if (request === undefined) throw new Error("The server captured no chat completion request.");
  return request;
}

async function collectStream(
  params: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, "stream">,
): Promise<ChatCompletionChunk[]> {
  const stream = await client.chat.completions.create({ ...params, stream: true });
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  return chunks;
}

function joinContent(chunks: ChatCompletionChunk[]): string {
  return chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("");
}

describe("non-streamed completion", () => {
  it("returns the echo answer with usage", async () => {
    const completion = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    const content = completion.choices[0]?.message.content ?? "";
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(MODEL);
    expect(completion.choices[0]?.message.role).toBe("assistant");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(content.startsWith("You said: What is a token bucket?")).toBe(true);
    expect(content.split(" ").length).toBeGreaterThan(30);

    const expectedPrompt = encodeChat(
      MESSAGES.map((message) => ({ role: message.role, content: String(message.content) })),
      "gpt-4o-mini",
    ).length;
    expect(completion.usage?.prompt_tokens).toBe(expectedPrompt);
    expect(completion.usage?.completion_tokens).toBe(encode(content).length);
    expect(completion.usage?.total_tokens).toBe(expectedPrompt + encode(content).length);
  });

  it("counts chat framing in prompt tokens", async () => {
    // One message: 3 framing tokens, 1 for the role, 1 for "Hello", and 3 that prime the reply.
    const completion = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hello" }],
    });

    expect(completion.usage?.prompt_tokens).toBe(8);
  });

  it("counts unknown models like gpt-4o", async () => {
    const messages: ChatCompletionMessageParam[] = [{ role: "user", content: "Count me, please." }];

    const unknown = await client.chat.completions.create({ model: "local-llama", messages });
    const known = await client.chat.completions.create({ model: "gpt-4o", messages });

    expect(unknown.model).toBe("local-llama");
    expect(unknown.usage?.prompt_tokens).toBe(known.usage?.prompt_tokens);
  });

  it("captures body and headers", async () => {
    await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(server.requests).toHaveLength(1);
    const request = lastRequest();
    expect(request.body).toMatchObject({ model: MODEL, messages: MESSAGES });
    expect(request.headers.authorization).toBe("Bearer test-key");
    expect(request.status).toBe(200);
    expect(request.outcome).toBe("completed");
    expect(request.stream).toBe(false);
  });
});

describe("streamed completion", () => {
  it("ends with a usage chunk when include_usage is set", async () => {
    const chunks = await collectStream({
      model: MODEL,
      messages: MESSAGES,
      stream_options: { include_usage: true },
    });
    const plain = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.length).toBeGreaterThan(10);

    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual(plain.usage);

    const finishChunk = chunks.at(-2);
    expect(finishChunk?.choices[0]?.finish_reason).toBe("stop");
    expect(finishChunk?.choices[0]?.delta).toEqual({});

    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.usage).toBeNull();
    }
    expect(joinContent(chunks)).toBe(plain.choices[0]?.message.content);
  });

  it("sends no usage without include_usage", async () => {
    const chunks = await collectStream({ model: MODEL, messages: MESSAGES });

    for (const chunk of chunks) {
      expect(chunk.usage).toBeUndefined();
      expect(chunk.choices).toHaveLength(1);
    }
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(lastRequest().usage).toBeNull();
  });

  it("sends content chunks of at most three tokens", async () => {
    const chunks = await collectStream({ model: MODEL, messages: MESSAGES });
    const contentChunks = chunks.slice(1, -1);

    expect(contentChunks.length).toBe(lastRequest().chunksSent);
    for (const chunk of contentChunks) {
      const tokens = encode(chunk.choices[0]?.delta.content ?? "").length;
      expect(tokens).toBeGreaterThanOrEqual(1);
      expect(tokens).toBeLessThanOrEqual(3);
    }
  });

  it("streams multi-byte text intact", async () => {
    const reply = "Grüße aus Köln: 日本語のテキスト 😀🎉 und ein Ende.";
    server.setBehaviour({ reply, tokensPerChunk: 1 });

    const chunks = await collectStream({ model: MODEL, messages: MESSAGES });

    expect(joinContent(chunks)).toBe(reply);
    for (const chunk of chunks) {
      expect(chunk.choices[0]?.delta.content ?? "").not.toContain("\uFFFD");
    }
  });
});

describe("max_tokens", () => {
  it("truncates a plain answer", async () => {
    const full = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });
    const cut = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 5 });

    const cutText = cut.choices[0]?.message.content ?? "";
    expect(cut.choices[0]?.finish_reason).toBe("length");
    expect(cut.usage?.completion_tokens).toBe(5);
    expect(encode(cutText)).toHaveLength(5);
    expect(full.choices[0]?.message.content?.startsWith(cutText)).toBe(true);
  });

  it("truncates a stream via max_completion_tokens", async () => {
    const chunks = await collectStream({
      model: MODEL,
      messages: MESSAGES,
      max_completion_tokens: 7,
      stream_options: { include_usage: true },
    });

    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("length");
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(7);
    expect(encode(joinContent(chunks))).toHaveLength(7);
  });

  it("never cuts inside a character", async () => {
    // Each of these two hieroglyphs encodes to 4 tokens, none of which is a whole character.
    server.setBehaviour({ reply: "\u{13000}\u{13050} ok" });

    const completion = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 5 });

    expect(completion.choices[0]?.message.content).toBe("\u{13000}");
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.usage?.completion_tokens).toBe(4);
  });

  it("keeps a short answer whole", async () => {
    server.setBehaviour({ reply: "Short." });

    const completion = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, max_tokens: 50 });

    expect(completion.choices[0]?.message.content).toBe("Short.");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
  });
});

describe("behaviour", () => {
  it("failWith 500 surfaces as APIError", async () => {
    server.setBehaviour({ failWith: { status: 500, message: "Upstream exploded." } });

    const error: unknown = await client.chat.completions
      .create({ model: MODEL, messages: MESSAGES })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(500);
    expect(apiError.message).toContain("Upstream exploded.");
    expect(apiError.type).toBe("server_error");
    expect(lastRequest().outcome).toBe("failed");
  });

  it("failWith 429 surfaces as RateLimitError", async () => {
    server.setBehaviour({ failWith: { status: 429, headers: { "retry-after": "7" } } });

    const error: unknown = await client.chat.completions
      .create({ model: MODEL, messages: MESSAGES })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiError.code).toBe("rate_limit_exceeded");
    expect(apiError.headers.get("retry-after")).toBe("7");
  });

  it("failNextRequests fails only the next n", async () => {
    server.setBehaviour({
      failNextRequests: 2,
      failWith: { status: 503, headers: { "retry-after-ms": "10" } },
    });
    const retryingClient = new OpenAI({ apiKey: "test-key", baseURL: server.url, maxRetries: 2 });

    const completion = await retryingClient.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(server.requests.map((request) => request.status)).toEqual([503, 503, 200]);
    expect(server.behaviour).toEqual({});
  });

  it("cutAfterChunks makes the SDK stream throw", async () => {
    server.setBehaviour({ cutAfterChunks: 3 });

    const error: unknown = await collectStream({ model: MODEL, messages: MESSAGES }).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(Error);
    await server.waitForIdle();
    expect(lastRequest().outcome).toBe("cut");
    expect(lastRequest().chunksSent).toBe(3);
    expect(lastRequest().aborted).toBe(false);
  });

  it("records a client abort", async () => {
    server.setBehaviour({ chunkDelayMs: 50 });
    const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true });

    let received = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received += 1;
      if (received === 2) {
        stream.controller.abort();
        break;
      }
    }

    await server.waitForIdle();
    const request = lastRequest();
    expect(request.aborted).toBe(true);
    expect(request.outcome).toBe("aborted");
    expect(request.chunksSent).toBeGreaterThanOrEqual(2);
    // The default reply has about 20 chunks, so 10 or more means the server kept writing after the abort.
    expect(request.chunksSent).toBeLessThan(10);
    expect(request.finishReason).toBeNull();
  });

  it("records an abort during responseDelayMs", async () => {
    server.setBehaviour({ responseDelayMs: 5_000 });
    const controller = new AbortController();

    const pending = client.chat.completions.create(
      { model: MODEL, messages: MESSAGES },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);

    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await server.waitForIdle();
    expect(lastRequest().aborted).toBe(true);
    expect(lastRequest().status).toBeNull();
  });

  it("omitUsage drops the usage chunk", async () => {
    server.setBehaviour({ omitUsage: true });

    const chunks = await collectStream({
      model: MODEL,
      messages: MESSAGES,
      stream_options: { include_usage: true },
    });
    const plain = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(plain.usage).toBeUndefined();
  });

  it("reports overridden token counts", async () => {
    server.setBehaviour({ reportedPromptTokens: 1_000, reportedCompletionTokens: 250 });

    const completion = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });

    expect(completion.usage?.prompt_tokens).toBe(1_000);
    expect(completion.usage?.completion_tokens).toBe(250);
    expect(completion.usage?.total_tokens).toBe(1_250);
  });

  it("delays the first chunk", async () => {
    server.setBehaviour({ firstChunkDelayMs: 400 });
    const started = performance.now();

    const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true });
    const headersAfter = performance.now() - started;
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const firstChunkAfter = performance.now() - started;
    await iterator.return?.();

    expect(headersAfter).toBeLessThan(350);
    expect(firstChunkAfter).toBeGreaterThanOrEqual(390);
  });

  it("rejects an invalid behaviour", () => {
    expect(() => server.setBehaviour({ chunkDelayMs: -1 })).toThrow(/chunkDelayMs/);
    expect(() => server.setBehaviour({ failWith: { status: 200 } })).toThrow(/failWith/);
    expect(server.behaviour).toEqual({});
  });

  it("clears a field set to null", () => {
    server.setBehaviour({ reply: "Fixed.", chunkDelayMs: 10 });
    server.setBehaviour({ reply: null });

    expect(server.behaviour).toEqual({ chunkDelayMs: 10 });
  });
});

describe("request validation", () => {
  it("rejects a request without an API key", async () => {
    const response = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: MESSAGES }),
    });

    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body.error.code).toBe("invalid_api_key");
    expect(body.error.type).toBe("invalid_request_error");
    expect(typeof body.error.message).toBe("string");
  });

  it("surfaces a missing key as AuthenticationError", async () => {
    const error: unknown = await client.chat.completions
      .create({ model: MODEL, messages: MESSAGES }, { headers: { Authorization: "Bearer " } })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect(lastRequest().status).toBe(401);
  });

  it.each([
    ["missing model", { messages: MESSAGES }, "model"],
    ["empty messages", { model: MODEL, messages: [] }, "messages"],
    ["unknown role", { model: MODEL, messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
    ["zero max_tokens", { model: MODEL, messages: MESSAGES, max_tokens: 0 }, "max_tokens"],
    ["stream_options without stream", { model: MODEL, messages: MESSAGES, stream_options: {} }, "stream_options"],
  ])("rejects %s with 400", async (_name, body, param) => {
    const response = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer test-key", "content-type": "application/json" },
      body: JSON.stringify(body),
    });

    expect(response.status).toBe(400);
    const parsed = (await response.json()) as { error: Record<string, unknown> };
    expect(parsed.error.param).toBe(param);
    expect(parsed.error.type).toBe("invalid_request_error");
  });

  it("rejects a body that is not JSON", async () => {
    const response = await fetch(`${server.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer test-key", "content-type": "application/json" },
      body: "{not json",
    });

    expect(response.status).toBe(400);
    expect(lastRequest().body).toBe("{not json");
  });
});

describe("models and control endpoints", () => {
  it("lists models", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      ids.push(model.id);
    }

    expect(ids).toContain("gpt-4o-mini");
    expect(ids).toContain("gpt-4o");
  });

  it("steers the server over HTTP", async () => {
    const controlUrl = server.url.replace(/\/v1$/, "/__control");

    const update = await fetch(`${controlUrl}/behaviour`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reply: "Fixed answer over HTTP." }),
    });
    expect(update.status).toBe(200);

    const completion = await client.chat.completions.create({ model: MODEL, messages: MESSAGES });
    expect(completion.choices[0]?.message.content).toBe("Fixed answer over HTTP.");

    const listed = await fetch(`${controlUrl}/requests?waitForIdle=1000`);
    const requests = (await listed.json()) as CapturedRequest[];
    expect(requests).toHaveLength(1);
    expect(requests[0]?.textSent).toBe("Fixed answer over HTTP.");

    const reset = await fetch(`${controlUrl}/reset`, { method: "POST" });
    expect(reset.status).toBe(204);
    expect(server.requests).toHaveLength(0);
    expect(server.behaviour).toEqual({});
  });

  it("rejects an unknown behaviour key over HTTP", async () => {
    const controlUrl = server.url.replace(/\/v1$/, "/__control");

    const response = await fetch(`${controlUrl}/behaviour`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ replyText: "typo" }),
    });

    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string };
    expect(body.error).toContain("replyText");
  });
});
