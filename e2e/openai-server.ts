/**
 * A local OpenAI-compatible HTTP server for Tollgate's integration and browser tests.
 *
 * It implements enough of the Chat Completions API (`POST /v1/chat/completions`, streamed and not
 * streamed, and `GET /v1/models`) for the unmodified `openai` SDK to use it through
 * `OPENAI_BASE_URL`. Prompt tokens come from gpt-tokenizer's `encodeChat()`, which adds the
 * per-message and reply framing tokens of the chat format to the text tokens.
 *
 * Tests steer failures, delays, cut streams and usage reports with `setBehaviour()`. When the
 * server runs as a separate process (`npx tsx e2e/openai-server.ts --port 4010`), the same
 * controls are HTTP endpoints:
 *   POST /__control/behaviour  merges a JSON behaviour patch and returns the result
 *   GET  /__control/behaviour  the current behaviour
 *   POST /__control/reset      default behaviour, no captured requests (204)
 *   GET  /__control/requests   captured chat completion calls. With `?waitForIdle=MS`, it first
 *                              waits until none is in progress (504 after MS milliseconds).
 *   GET  /__control/health     200 once the server listens
 *
 * It binds 127.0.0.1 only, and the control endpoints need no API key.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import * as o200k from "gpt-tokenizer";
import { chatModelParams, modelToEncodingMap, type ChatModelName } from "gpt-tokenizer/mapping";
import { z } from "zod";

const HOST = "127.0.0.1";

const MISSING_API_KEY_ERROR = {
  message: "Missing or empty API key: send an 'Authorization: Bearer <key>' header.",
  code: "invalid_api_key",
};

/** Models listed by `GET /v1/models`. Chat completions accept any model name. */
export const LISTED_MODELS = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"] as const;

/** Model whose tokenizer and chat framing count tokens for model names gpt-tokenizer does not know. */
const FALLBACK_TOKENIZER_MODEL: ChatModelName = "gpt-4o";

const DEFAULT_TOKENS_PER_CHUNK = 3;
const DEFAULT_IDLE_TIMEOUT_MS = 5_000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const SYSTEM_FINGERPRINT = "fp_tollgate_local";

/** Sentences appended to the echo in the default reply, so that it streams in many chunks. */
const DEFAULT_REPLY_FILLER = [
  "This answer comes from the local test server, not from a real model.",
  "Its words depend only on the last user message, so every run streams the same text.",
  "Each streamed chunk carries a few tokens, which lets a test watch the answer arrive piece by piece.",
];

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** An OpenAI-shaped error that the server returns in place of a completion. */
export interface FailWith {
  /** HTTP status, 400 to 599. */
  status: number;
  /** `error.message`. Defaults to a sentence that names the status. */
  message?: string;
  /** `error.type`. Defaults to `server_error` for 5xx, `requests` for 429, else `invalid_request_error`. */
  type?: string;
  /** `error.code`. Defaults to `rate_limit_exceeded` for 429, else null. */
  code?: string | null;
  /** Extra response headers, such as `retry-after-ms` or `x-should-retry`, which the SDK reads. */
  headers?: Record<string, string>;
}

/** Settings that change how the server responds to chat completion requests. Every field is optional. */
export interface Behaviour {
  /** Fixed reply text. Without it, the reply echoes the last user message and adds a few sentences. */
  reply?: string;
  /** Delay in milliseconds before each streamed chunk after the first. Default 0. */
  chunkDelayMs?: number;
  /** Delay in milliseconds between the streamed response headers and the first chunk. Default 0. */
  firstChunkDelayMs?: number;
  /** Delay in milliseconds before the response headers, for every kind of response. Default 0. */
  responseDelayMs?: number;
  /** Tokens per streamed content chunk. Default 3. */
  tokensPerChunk?: number;
  /** Error returned for every chat completion request, or only for the next `failNextRequests`. */
  failWith?: FailWith;
  /**
   * Number of upcoming chat completion requests (counting only those that pass authentication
   * and validation) that get `failWith`, or a plain 500 when it is unset. After the last of
   * them, both settings are cleared.
   */
  failNextRequests?: number;
  /**
   * Number of content chunks streamed (after the role chunk) before the server destroys the
   * socket, with no finish chunk and no `[DONE]`. A request that is not streamed gets its socket
   * destroyed before any response.
   */
  cutAfterChunks?: number;
  /**
   * Number of content chunks streamed before the server sends one `data:` line that is not JSON
   * and then ends the response, as a broken proxy might.
   */
  malformedAfterChunks?: number;
  /** Number of content chunks streamed before the server stops sending, keeping the connection open until the client leaves. */
  stallAfterChunks?: number;
  /** Whether to withhold usage: no usage chunk even when the client requests one, no `usage` in plain responses. */
  omitUsage?: boolean;
  /** Prompt tokens to report in place of the counted ones. */
  reportedPromptTokens?: number;
  /** Completion tokens to report in place of the counted ones. */
  reportedCompletionTokens?: number;
  /** Prompt tokens to report as served from the prompt cache (`prompt_tokens_details.cached_tokens`). Default 0. */
  reportedCachedTokens?: number;
}

/** A behaviour update. A field set to null or undefined goes back to its default. */
export type BehaviourPatch = { [K in keyof Behaviour]?: Behaviour[K] | null };

export interface ReportedUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One `POST /v1/chat/completions` call, as the server received it and responded. */
export interface CapturedRequest {
  /** Value of the `x-request-id` response header. */
  requestId: string;
  /** ISO 8601 time at which the body was fully received. */
  receivedAt: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or the raw text when it was not valid JSON. */
  body: unknown;
  /** Whether the request asked for a streamed response. */
  stream: boolean;
  /** HTTP status sent, or null while pending and when the socket closed before any headers. */
  status: number | null;
  /**
   * Request state:
   * - `pending` until the response ends,
   * - `completed` after a full response,
   * - `failed` after an error response,
   * - `cut` when `cutAfterChunks` dropped the connection,
   * - `aborted` when the client disconnected first.
   */
  outcome: "pending" | "completed" | "failed" | "cut" | "aborted";
  /** True when the client disconnected before the response was complete. */
  aborted: boolean;
  /** Streamed content chunks written before the stream ended or was cut or aborted. */
  chunksSent: number;
  /** Reply text written so far (all of it for a plain response). */
  textSent: string;
  finishReason: "stop" | "length" | null;
  /** Usage reported to the client, or null when none was sent. */
  usage: ReportedUsage | null;
}

export interface OpenAIServer {
  /** Base URL for `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:4010/v1`. */
  readonly url: string;
  readonly port: number;
  /** Chat completion calls, oldest first. `reset()` empties this same array. */
  readonly requests: CapturedRequest[];
  /** Copy of the current behaviour. */
  readonly behaviour: Behaviour;
  /** Merges `patch` into the current behaviour. Throws when a value is invalid. */
  setBehaviour(patch: BehaviourPatch): void;
  /** Restores the default behaviour and empties `requests`. */
  reset(): void;
  /** Resolves once no chat completion is in progress. Rejects after `timeoutMs` (default 5000). */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Stops listening and destroys every open connection, which aborts in-progress streams. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Behaviour validation
// ---------------------------------------------------------------------------------------------

const delayMs = z.number().int().min(0);
const tokenCount = z.number().int().min(0);

const failWithSchema = z.strictObject({
  status: z.number().int().min(400).max(599),
  message: z.string().optional(),
  type: z.string().optional(),
  code: z.string().nullable().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

const behaviourPatchSchema: z.ZodType<BehaviourPatch> = z.strictObject({
  reply: z.string().nullish(),
  chunkDelayMs: delayMs.nullish(),
  firstChunkDelayMs: delayMs.nullish(),
  responseDelayMs: delayMs.nullish(),
  tokensPerChunk: z.number().int().min(1).nullish(),
  failWith: failWithSchema.nullish(),
  failNextRequests: tokenCount.nullish(),
  cutAfterChunks: tokenCount.nullish(),
  malformedAfterChunks: tokenCount.nullish(),
  stallAfterChunks: tokenCount.nullish(),
  omitUsage: z.boolean().nullish(),
  reportedPromptTokens: tokenCount.nullish(),
  reportedCompletionTokens: tokenCount.nullish(),
  reportedCachedTokens: tokenCount.nullish(),
});

/** Returns `current` with `patch` applied, or throws an Error that lists every invalid field. */
function applyBehaviourPatch(current: Behaviour, patch: unknown): Behaviour {
  const parsed = behaviourPatchSchema.safeParse(patch);
  if (!parsed.success) {
    throw new Error(`Invalid behaviour: ${z.prettifyError(parsed.error)}`);
  }

  const next: Record<string, unknown> = { ...current };
  // Keys come from the raw input so that an explicit `undefined` also clears a field.
  const parsedValues = parsed.data as Record<string, unknown>;
  for (const key of Object.keys(patch as object)) {
    const value = parsedValues[key];
    if (value === null || value === undefined) {
      delete next[key];
    } else {
      next[key] = value;
    }
  }
  return next as Behaviour;
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

type TokenizerChat = Parameters<typeof o200k.encodeChat>[0];
type EncodingApi = Pick<typeof o200k, "encode" | "encodeChat">;

interface ModelTokenizer {
  api: EncodingApi;
  chatModel: ChatModelName;
}

// Text such as "<|endoftext|>" in a message is counted as ordinary text. Without an empty
// disallow list, gpt-tokenizer throws on it.
const SPECIAL_TOKENS_AS_TEXT = { disallowedSpecial: new Set<string>() };

let cl100kApi: Promise<EncodingApi> | undefined;

/** Picks the encoding (o200k_base or cl100k_base) and chat framing that OpenAI uses for `model`. */
async function tokenizerFor(model: string): Promise<ModelTokenizer> {
  if (!Object.hasOwn(chatModelParams, model)) {
    return { api: o200k, chatModel: FALLBACK_TOKENIZER_MODEL };
  }

  const chatModel = model as ChatModelName;
  if (modelToEncodingMap[chatModel] === "cl100k_base") {
    // Loaded on first use, because the table is large and the gpt-4o family uses o200k_base.
    cl100kApi ??= import("gpt-tokenizer/encoding/cl100k_base");
    return { api: await cl100kApi, chatModel };
  }
  return { api: o200k, chatModel };
}

function countTokens(tokenizer: ModelTokenizer, text: string): number {
  return tokenizer.api.encode(text, SPECIAL_TOKENS_AS_TEXT).length;
}

/**
 * Counts prompt tokens with the chat framing of the model (start, role and end tokens per
 * message, plus the tokens that prime the reply).
 */
// NOTE: message `name` fields, tool calls, tool definitions and image parts are not counted,
// although OpenAI bills for them. Only role and text content reach the tokenizer.
function countPromptTokens(tokenizer: ModelTokenizer, messages: ValidMessage[]): number {
  const chat: TokenizerChat = messages.map((message) => ({
    role: message.role,
    content: message.text,
  }));
  return tokenizer.api.encodeChat(chat, tokenizer.chatModel, SPECIAL_TOKENS_AS_TEXT).length;
}

// The two helpers below work on strings and call only encode(). gpt-tokenizer 4.0.0's decode()
// keeps the bytes of an unfinished character in a TextDecoder shared by all calls, and the next
// decode() in the process then starts with a stray U+FFFD.

/**
 * Returns the longest prefix of `text`, cut between code points, that encodes to at most
 * `maxTokens` tokens. It can have fewer tokens than `maxTokens` when the next token ends inside
 * a character.
 */
function truncateToTokens(tokenizer: ModelTokenizer, text: string, maxTokens: number): string {
  if (countTokens(tokenizer, text) <= maxTokens) {
    return text;
  }

  // Binary search on the prefix length in code points. Prefix token counts almost always grow
  // with the length. Where BPE merges make them dip, the search still returns a prefix that fits.
  const codePoints = Array.from(text);
  let fitting = 0;
  let tooLong = codePoints.length;
  while (tooLong - fitting > 1) {
    const middle = Math.floor((fitting + tooLong) / 2);
    if (countTokens(tokenizer, codePoints.slice(0, middle).join("")) <= maxTokens) {
      fitting = middle;
    } else {
      tooLong = middle;
    }
  }
  return codePoints.slice(0, fitting).join("");
}

/**
 * Splits `text` into chunks of whole words (each with its leading whitespace) of at most
 * `tokensPerChunk` tokens. A single word with more tokens than that becomes a chunk of its own.
 * The chunks joined give `text` back.
 */
function splitIntoChunks(tokenizer: ModelTokenizer, text: string, tokensPerChunk: number): string[] {
  const chunks: string[] = [];
  let current = "";

  for (const word of text.match(/\s*\S+|\s+/g) ?? []) {
    const extended = current + word;
    if (current !== "" && countTokens(tokenizer, extended) > tokensPerChunk) {
      chunks.push(current);
      current = word;
    } else {
      current = extended;
    }
  }

  if (current !== "") {
    chunks.push(current);
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// Request validation
// ---------------------------------------------------------------------------------------------

const MESSAGE_ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

interface ValidMessage {
  role: string;
  /** Text content, or the text parts joined when the content is an array of parts. */
  text: string;
}

interface ValidChatRequest {
  model: string;
  messages: ValidMessage[];
  stream: boolean;
  includeUsage: boolean;
  /** Smaller of `max_tokens` and `max_completion_tokens`, or null when neither is set. */
  maxTokens: number | null;
}

/** A client error, sent as an OpenAI-shaped 400 response. */
class InvalidRequestError extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readMessageText(content: unknown, index: number, role: string): string {
  if (typeof content === "string") {
    return content;
  }
  if ((content === null || content === undefined) && role === "assistant") {
    return "";
  }
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) => (isRecord(part) && typeof part.text === "string" ? part.text : ""))
      .join("");
  }
  throw new InvalidRequestError(
    `Invalid 'messages[${index}].content': expected a string or an array of content parts.`,
    `messages[${index}].content`,
  );
}

function readMaxTokens(body: Record<string, unknown>, field: string): number | null {
  const value = body[field];
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidRequestError(
      `Invalid '${field}': expected an integer of at least 1, got ${JSON.stringify(value)}.`,
      field,
    );
  }
  return value;
}

/** Checks the request fields this server uses. Throws InvalidRequestError for the first invalid one. */
function validateChatRequest(body: unknown): ValidChatRequest {
  if (!isRecord(body)) {
    throw new InvalidRequestError("The request body must be a JSON object.", null);
  }
  if (typeof body.model !== "string" || body.model.length === 0) {
    throw new InvalidRequestError("Missing required parameter: 'model' (a non-empty string).", "model");
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw new InvalidRequestError(
      "Invalid 'messages': expected a non-empty array of messages.",
      "messages",
    );
  }

  const messages = body.messages.map((message: unknown, index): ValidMessage => {
    if (!isRecord(message) || typeof message.role !== "string" || !MESSAGE_ROLES.has(message.role)) {
      throw new InvalidRequestError(
        `Invalid 'messages[${index}].role': expected one of ${[...MESSAGE_ROLES].join(", ")}.`,
        `messages[${index}].role`,
      );
    }
    return { role: message.role, text: readMessageText(message.content, index, message.role) };
  });

  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw new InvalidRequestError("Invalid 'stream': expected a boolean.", "stream");
  }
  const stream = body.stream === true;

  if (body.stream_options !== undefined && body.stream_options !== null && !stream) {
    throw new InvalidRequestError(
      "Invalid 'stream_options': it is allowed only when 'stream' is true.",
      "stream_options",
    );
  }
  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;

  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw new InvalidRequestError("Invalid 'n': this test server supports only n = 1.", "n");
  }

  const limits = [readMaxTokens(body, "max_tokens"), readMaxTokens(body, "max_completion_tokens")];
  const setLimits = limits.filter((limit): limit is number => limit !== null);
  const maxTokens = setLimits.length > 0 ? Math.min(...setLimits) : null;

  return { model: body.model, messages, stream, includeUsage, maxTokens };
}

/** Reads the bearer token. Returns null when the header is missing, malformed or empty. */
function readBearerToken(headers: IncomingHttpHeaders): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? "");
  return match?.[1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    const buffer = part as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      throw new BodyTooLargeError(`Request body exceeds ${MAX_BODY_BYTES} bytes.`);
    }
    parts.push(buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function defaultErrorType(status: number): string {
  if (status >= 500) return "server_error";
  if (status === 429) return "requests";
  return "invalid_request_error";
}

/** Sends `{"error":{"message","type","param","code"}}`, the error body OpenAI uses. */
function sendOpenAIError(
  res: ServerResponse,
  status: number,
  error: { message: string; type?: string; code?: string | null; param?: string | null },
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    {
      error: {
        message: error.message,
        type: error.type ?? defaultErrorType(status),
        param: error.param ?? null,
        code: error.code ?? (status === 429 ? "rate_limit_exceeded" : null),
      },
    },
    headers,
  );
}

/** Waits `ms` milliseconds. Returns false, at once or early, when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

/** Writes one Server-Sent Event. Returns false when the client has disconnected. */
async function writeEvent(res: ServerResponse, data: string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return false;
  if (res.write(`data: ${data}\n\n`)) return true;
  try {
    await once(res, "drain", { signal });
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}

function newId(prefix: string, bytes: number): string {
  return `${prefix}${randomBytes(bytes).toString("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/** Builds the default reply: an echo of the last user message, then fixed sentences. */
function buildDefaultReply(messages: ValidMessage[]): string {
  const lastUser = [...messages].reverse().find((message) => message.role === "user");
  const userText = lastUser?.text.trim() ?? "";
  const echo = userText.length === 0 ? "You said nothing." : `You said: ${userText}`;
  const punctuated = /[.!?]$/.test(echo) ? echo : `${echo}.`;
  return [punctuated, ...DEFAULT_REPLY_FILLER].join(" ");
}

interface PlannedAnswer {
  text: string;
  finishReason: "stop" | "length";
  promptTokens: number;
}

async function planAnswer(request: ValidChatRequest, behaviour: Behaviour): Promise<{
  tokenizer: ModelTokenizer;
  answer: PlannedAnswer;
}> {
  const tokenizer = await tokenizerFor(request.model);
  const fullText = behaviour.reply ?? buildDefaultReply(request.messages);
  const text =
    request.maxTokens === null ? fullText : truncateToTokens(tokenizer, fullText, request.maxTokens);

  return {
    tokenizer,
    answer: {
      text,
      finishReason: text === fullText ? "stop" : "length",
      promptTokens: countPromptTokens(tokenizer, request.messages),
    },
  };
}

function buildUsage(behaviour: Behaviour, promptTokens: number, completionTokens: number) {
  const prompt = behaviour.reportedPromptTokens ?? promptTokens;
  const completion = behaviour.reportedCompletionTokens ?? completionTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: Math.min(behaviour.reportedCachedTokens ?? 0, prompt), audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function toReportedUsage(usage: ReturnType<typeof buildUsage>): ReportedUsage {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.total_tokens,
  };
}

/** State of one chat completion while the server responds to it. */
interface Exchange {
  res: ServerResponse;
  record: CapturedRequest;
  behaviour: Behaviour;
  /** Aborts when the connection closes before the response is complete. */
  signal: AbortSignal;
}

function sendFailure(exchange: Exchange, failure: FailWith): void {
  const { res, record } = exchange;
  record.outcome = "failed";
  record.status = failure.status;
  sendOpenAIError(
    res,
    failure.status,
    {
      message: failure.message ?? `The local test server was set to fail this request with HTTP ${failure.status}.`,
      ...(failure.type === undefined ? {} : { type: failure.type }),
      ...(failure.code === undefined ? {} : { code: failure.code }),
    },
    { ...failure.headers, "x-request-id": record.requestId },
  );
}

function cutConnection(exchange: Exchange): void {
  exchange.record.outcome = "cut";
  exchange.res.destroy();
}

function sendAnswer(
  exchange: Exchange,
  request: ValidChatRequest,
  tokenizer: ModelTokenizer,
  answer: PlannedAnswer,
): void {
  const { res, record, behaviour: current } = exchange;
  if (current.cutAfterChunks !== undefined) {
    cutConnection(exchange);
    return;
  }

  const usage = buildUsage(current, answer.promptTokens, countTokens(tokenizer, answer.text));
  const completion = {
    id: newId("chatcmpl-", 12),
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: answer.text, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: answer.finishReason,
      },
    ],
    ...(current.omitUsage === true ? {} : { usage }),
    service_tier: "default",
    system_fingerprint: SYSTEM_FINGERPRINT,
  };

  record.status = 200;
  record.outcome = "completed";
  record.textSent = answer.text;
  record.finishReason = answer.finishReason;
  record.usage = current.omitUsage === true ? null : toReportedUsage(usage);
  sendJson(res, 200, completion, { "x-request-id": record.requestId });
}

async function streamAnswer(
  exchange: Exchange,
  request: ValidChatRequest,
  tokenizer: ModelTokenizer,
  answer: PlannedAnswer,
): Promise<void> {
  const { res, record, behaviour: current, signal } = exchange;
  const sendUsage = request.includeUsage && current.omitUsage !== true;
  const id = newId("chatcmpl-", 12);
  const created = Math.floor(Date.now() / 1000);

  // With include_usage, OpenAI adds `"usage": null` to every chunk except the last one.
  const chunkJson = (choices: unknown[], usage: unknown = null): string =>
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model: request.model,
      service_tier: "default",
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
      ...(sendUsage ? { usage } : {}),
    });
  const deltaChoice = (delta: object, finishReason: string | null = null) => ({
    index: 0,
    delta,
    logprobs: null,
    finish_reason: finishReason,
  });

  record.status = 200;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-request-id": record.requestId,
  });
  // Send the headers now, so that the client's create() call resolves before the first chunk.
  res.flushHeaders();

  if (!(await pause(current.firstChunkDelayMs ?? 0, signal))) return;
  const roleDelta = { role: "assistant", content: "", refusal: null };
  if (!(await writeEvent(res, chunkJson([deltaChoice(roleDelta)]), signal))) return;

  const chunks = splitIntoChunks(tokenizer, answer.text, current.tokensPerChunk ?? DEFAULT_TOKENS_PER_CHUNK);
  for (const piece of chunks) {
    if (current.cutAfterChunks !== undefined && record.chunksSent >= current.cutAfterChunks) {
      cutConnection(exchange);
      return;
    }
    if (current.stallAfterChunks !== undefined && record.chunksSent >= current.stallAfterChunks) {
      // pause() resolves false once the client disconnects.
      await pause(60 * 60 * 1000, signal);
      return;
    }
    if (current.malformedAfterChunks !== undefined && record.chunksSent >= current.malformedAfterChunks) {
      await writeEvent(res, '{"id": "chatcmpl-broken", "choices": [', signal);
      record.outcome = "cut";
      res.end();
      return;
    }
    if (!(await pause(current.chunkDelayMs ?? 0, signal))) return;
    if (!(await writeEvent(res, chunkJson([deltaChoice({ content: piece })]), signal))) return;
    record.chunksSent += 1;
    record.textSent += piece;
  }

  if (current.cutAfterChunks !== undefined) {
    // cutAfterChunks is at least the number of chunks, so the whole text went out but the end does not.
    cutConnection(exchange);
    return;
  }

  if (!(await pause(current.chunkDelayMs ?? 0, signal))) return;
  const finishChunk = chunkJson([deltaChoice({}, answer.finishReason)]);
  if (!(await writeEvent(res, finishChunk, signal))) return;
  record.finishReason = answer.finishReason;

  if (sendUsage) {
    const usage = buildUsage(current, answer.promptTokens, countTokens(tokenizer, record.textSent));
    if (!(await writeEvent(res, chunkJson([], usage), signal))) return;
    record.usage = toReportedUsage(usage);
  }

  if (!(await writeEvent(res, "[DONE]", signal))) return;
  record.outcome = "completed";
  res.end();
}

function listModels(req: IncomingMessage, res: ServerResponse): void {
  if (readBearerToken(req.headers) === null) {
    sendOpenAIError(res, 401, MISSING_API_KEY_ERROR);
    return;
  }
  sendJson(res, 200, {
    object: "list",
    data: LISTED_MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "system" })),
  });
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/**
 * Starts the server on 127.0.0.1. Port 0 (the default) picks a free port.
 * Rejects when the port is taken.
 */
export async function startOpenAIServer(options: { port?: number } = {}): Promise<OpenAIServer> {
  let behaviour: Behaviour = {};
  const requests: CapturedRequest[] = [];

  let inProgress = 0;
  const idleWaiters = new Set<() => void>();

  function finishExchange(): void {
    inProgress -= 1;
    if (inProgress > 0) return;
    for (const notify of idleWaiters) notify();
    idleWaiters.clear();
  }

  function waitForIdle(timeoutMs = DEFAULT_IDLE_TIMEOUT_MS): Promise<void> {
    if (inProgress === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const notify = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        idleWaiters.delete(notify);
        reject(new Error(`${inProgress} chat completion(s) still in progress after ${timeoutMs} ms.`));
      }, timeoutMs);
      idleWaiters.add(notify);
    });
  }

  /** Decides whether this request fails, and counts it against `failNextRequests`. */
  function takeFailure(): FailWith | null {
    const remaining = behaviour.failNextRequests;
    if (remaining !== undefined && remaining > 0) {
      const failure = behaviour.failWith ?? { status: 500 };
      behaviour =
        remaining === 1
          ? applyBehaviourPatch(behaviour, { failNextRequests: null, failWith: null })
          : { ...behaviour, failNextRequests: remaining - 1 };
      return failure;
    }
    return behaviour.failWith ?? null;
  }

  async function answerChatCompletion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const bodyText = await readBody(req);
    const parsedBody = parseJson(bodyText);
    const record: CapturedRequest = {
      requestId: newId("req_", 16),
      receivedAt: new Date().toISOString(),
      headers: req.headers,
      body: parsedBody.ok ? parsedBody.value : bodyText,
      stream: parsedBody.ok && isRecord(parsedBody.value) && parsedBody.value.stream === true,
      status: null,
      outcome: "pending",
      aborted: false,
      chunksSent: 0,
      textSent: "",
      finishReason: null,
      usage: null,
    };
    requests.push(record);

    const controller = new AbortController();
    inProgress += 1;
    res.once("close", () => {
      if (record.outcome === "pending") {
        record.outcome = "aborted";
        record.aborted = true;
      }
      controller.abort();
      finishExchange();
    });

    const headers = { "x-request-id": record.requestId };

    if (readBearerToken(req.headers) === null) {
      record.outcome = "failed";
      record.status = 401;
      sendOpenAIError(res, 401, MISSING_API_KEY_ERROR, headers);
      return;
    }

    let request: ValidChatRequest;
    try {
      if (!parsedBody.ok) {
        throw new InvalidRequestError("The request body is not valid JSON.", null);
      }
      request = validateChatRequest(parsedBody.value);
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      record.outcome = "failed";
      record.status = 400;
      sendOpenAIError(res, 400, { message: error.message, param: error.param }, headers);
      return;
    }

    const failure = takeFailure();
    // Later setBehaviour() calls do not change a request that has already started.
    const exchange: Exchange = { res, record, behaviour, signal: controller.signal };
    if (!(await pause(exchange.behaviour.responseDelayMs ?? 0, exchange.signal))) return;

    if (failure !== null) {
      sendFailure(exchange, failure);
      return;
    }

    const { tokenizer, answer } = await planAnswer(request, exchange.behaviour);
    if (request.stream) {
      await streamAnswer(exchange, request, tokenizer, answer);
    } else {
      sendAnswer(exchange, request, tokenizer, answer);
    }
  }

  async function updateBehaviour(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = parseJson(await readBody(req));
    if (!parsed.ok || !isRecord(parsed.value)) {
      sendJson(res, 400, { error: "The behaviour body must be a JSON object." });
      return;
    }
    try {
      behaviour = applyBehaviourPatch(behaviour, parsed.value);
    } catch (error) {
      sendJson(res, 400, { error: (error as Error).message });
      return;
    }
    sendJson(res, 200, { behaviour });
  }

  async function listRequests(url: URL, res: ServerResponse): Promise<void> {
    const wait = url.searchParams.get("waitForIdle");
    if (wait !== null) {
      const timeoutMs = wait === "" ? DEFAULT_IDLE_TIMEOUT_MS : Number(wait);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
        sendJson(res, 400, { error: `Invalid waitForIdle=${wait}: expected milliseconds as an integer.` });
        return;
      }
      try {
        await waitForIdle(timeoutMs);
      } catch (error) {
        sendJson(res, 504, { error: (error as Error).message, requests });
        return;
      }
    }
    sendJson(res, 200, requests);
  }

  function reset(): void {
    behaviour = {};
    requests.length = 0;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${HOST}`);
    const target = `${req.method ?? "GET"} ${url.pathname.replace(/\/+$/, "")}`;

    switch (target) {
      case "POST /v1/chat/completions":
        return answerChatCompletion(req, res);
      case "GET /v1/models":
        return listModels(req, res);
      case "GET /__control/health":
        return sendJson(res, 200, { ok: true });
      case "GET /__control/behaviour":
        return sendJson(res, 200, { behaviour });
      case "POST /__control/behaviour":
        return updateBehaviour(req, res);
      case "POST /__control/reset":
        reset();
        res.writeHead(204).end();
        return;
      case "GET /__control/requests":
        return listRequests(url, res);
      default:
        sendOpenAIError(res, 404, {
          message: `Unknown route ${req.method ?? "GET"} ${url.pathname}. This test server implements POST /v1/chat/completions and GET /v1/models.`,
          code: "unknown_url",
        });
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof BodyTooLargeError) {
        console.error(`openai-server: rejected ${req.method} ${req.url} with 413: ${error.message}`);
        if (!res.headersSent) sendOpenAIError(res, 413, { message: error.message });
        return;
      }
      console.error(`openai-server: ${req.method} ${req.url} failed:`, error);
      if (!res.headersSent) {
        sendOpenAIError(res, 500, { message: `The local test server failed: ${String(error)}` });
      } else {
        res.destroy();
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });

  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${HOST}:${port}/v1`,
    port,
    requests,
    get behaviour() {
      return structuredClone(behaviour);
    },
    setBehaviour(patch) {
      behaviour = applyBehaviourPatch(behaviour, patch);
    },
    reset,
    waitForIdle,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `Usage: npx tsx e2e/openai-server.ts [--port PORT]

Starts a local OpenAI-compatible test server on 127.0.0.1 and prints its base URL.
  --port PORT  TCP port to listen on, from 0 to 65535 (default 0, which picks a free port)`;

async function runCli(args: string[]): Promise<void> {
  let port = 0;
  try {
    const { values } = parseArgs({
      args,
      options: { port: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help === true) {
      console.log(USAGE);
      return;
    }
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port > 65_535) {
        throw new Error(`Invalid --port ${JSON.stringify(values.port)}: expected an integer from 0 to 65535.`);
      }
    }
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  let server: OpenAIServer;
  try {
    server = await startOpenAIServer({ port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    console.error(`Port ${port} on ${HOST} is already in use. Pass another --port, or --port 0 for a free one.`);
    process.exitCode = 1;
    return;
  }
  console.log(`OpenAI-compatible test server listening on ${server.url}`);

  const stop = (signal: NodeJS.Signals): void => {
    console.error(`openai-server: received ${signal}, closing`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("openai-server: close failed:", error);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

// The file is both a module and a script. The script check reads argv rather than import.meta,
// because the package may be compiled as CommonJS, where import.meta is not available.
const entryScript = process.argv[1] ?? "";
if (/(^|[\\/])openai-server\.[cm]?[jt]s$/.test(entryScript)) {
  runCli(process.argv.slice(2)).catch((error: unknown) => {
    console.error("openai-server: failed to start:", error);
    process.exit(1);
  });
}
