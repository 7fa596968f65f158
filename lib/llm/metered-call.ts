import { getConfig } from "@/lib/config";
import type { UsageSource, UsageStatus } from "@/lib/db/schema";
import { settleAndRecordUsage, type Admission } from "@/lib/limits/gate";
import { logger } from "@/lib/log";
import { costMicros } from "@/lib/llm/models";
import { UpstreamError, type ChatProvider } from "@/lib/llm/provider";
import { countTokens, type ChatMessage } from "@/lib/llm/tokens";

export type MeteredCallInput = {
  userId: string;
  requestId: string;
  feature: string;
  model: string;
  messages: ChatMessage[];
  /** The estimate admission reserved for; used when the provider reports no usage. */
  estimatedPromptTokens: number;
  admission: Admission;
  provider: ChatProvider;
  chatId: string | null;
  /** Aborts when the client goes away; the upstream call is then cancelled. */
  signal: AbortSignal;
  /** Stores the answer, with whatever text was streamed; it runs beside settlement and the usage row. */
  saveAnswer?: (text: string) => Promise<void>;
  /** False asks the provider for the whole answer in one response. Default true. */
  stream?: boolean;
};

export type CallUsage = { promptTokens: number; completionTokens: number; cachedPromptTokens: number; source: UsageSource };

export type MeteredResult = {
  status: UsageStatus;
  text: string;
  usage: CallUsage;
  costMicros: number;
  latencyMs: number;
  /** Set when the status is `error`. */
  error?: UpstreamError;
};

type ReportedUsage = { promptTokens: number; completionTokens: number; cachedPromptTokens: number };

/**
 * Decides what a finished, failed or stopped call used. The provider's report wins. Without it,
 * a call that streamed anything, or that was stopped by the client, was billed for its prompt
 * (counted by our tokenizer) plus the streamed text; a call that failed before producing
 * anything was not billed.
 */
export function resolveUsage(input: {
  reported: ReportedUsage | null;
  streamedText: string;
  estimatedPromptTokens: number;
  status: UsageStatus;
}): CallUsage {
  if (input.reported) return { ...input.reported, source: "reported" };
  if (input.status === "error" && input.streamedText === "") {
    return { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, source: "estimated" };
  }
  return {
    promptTokens: input.estimatedPromptTokens,
    completionTokens: countTokens(input.streamedText),
    cachedPromptTokens: 0,
    source: "estimated",
  };
}

// The demo model pauses a few milliseconds between pieces; a minute of silence means it is stuck.
const DEMO_IDLE_TIMEOUT_MS = 60_000;

class IdleTimeout extends Error {
  override name = "IdleTimeout";
}

function toUpstreamFailure(error: unknown, abortReason: unknown): UpstreamError {
  if (abortReason instanceof IdleTimeout) {
    return new UpstreamError(`Model provider timed out: ${abortReason.message}`, undefined, { cause: abortReason });
  }
  if (error instanceof UpstreamError) return error;
  return new UpstreamError((error as Error).message, undefined, { cause: error });
}

/**
 * Calls the model for an admitted request, passing each piece of text to `onDelta`, then
 * settles the reservation and writes one usage row, whatever happened: success, an upstream
 * failure, a stream that went silent, or a client that left. Never throws for those: the
 * outcome is in the result's status.
 */
export async function runMeteredCall(input: MeteredCallInput, onDelta: (text: string) => void = () => {}): Promise<MeteredResult> {
  const { userId, requestId, feature, model, admission } = input;
  const startedAt = performance.now();
  const upstream = new AbortController();
  const abortUpstream = () => upstream.abort(input.signal.reason ?? new Error("client disconnected"));
  if (input.signal.aborted) abortUpstream();
  else input.signal.addEventListener("abort", abortUpstream, { once: true });

  // The SDK's timeout covers the wait for the response headers; this one also covers a stream
  // that stops sending in the middle.
  const { llm, prices } = getConfig();
  const idleMs = llm.kind === "openai" ? llm.timeoutMs : DEMO_IDLE_TIMEOUT_MS;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => upstream.abort(new IdleTimeout(`no data from the model for ${idleMs} ms`)), idleMs);
  };

  let text = "";
  let reported: ReportedUsage | null = null;
  let status: UsageStatus = "ok";
  let failure: UpstreamError | undefined;
  let usage!: CallUsage;
  let cost = 0;
  let latencyMs = 0;

  try {
    touch();
    const events = input.provider.stream({
      model,
      messages: input.messages,
      maxTokens: admission.outputCap,
      signal: upstream.signal,
      stream: input.stream,
    });
    for await (const event of events) {
      touch();
      if (event.type === "delta") {
        text += event.text;
        onDelta(event.text);
      } else {
        reported = {
          promptTokens: event.promptTokens,
          completionTokens: event.completionTokens,
          cachedPromptTokens: event.cachedPromptTokens ?? 0,
        };
      }
    }
    // The SDK ends a stream quietly when it is aborted, so an abort is checked for here too.
    if (input.signal.aborted) status = "aborted";
    else if (upstream.signal.aborted) throw upstream.signal.reason;
  } catch (error) {
    if (input.signal.aborted) {
      status = "aborted";
    } else {
      status = "error";
      failure = toUpstreamFailure(error, upstream.signal.reason);
      logger.error("model call failed", { requestId, userId, feature, model, error: failure });
    }
  } finally {
    clearTimeout(idleTimer);
    input.signal.removeEventListener("abort", abortUpstream);
    // Settlement runs whatever happened above, so no reservation stays open and every admitted
    // request leaves exactly one usage row.
    latencyMs = Math.round(performance.now() - startedAt);
    usage = resolveUsage({ reported, streamedText: text, estimatedPromptTokens: input.estimatedPromptTokens, status });
    cost = costMicros(model, usage, prices);
    await recordCall(input, { usage, cost, latencyMs, status, text });
  }

  return { status, text, usage, costMicros: cost, latencyMs, error: failure };
}

/**
 * Settles the call's reservation, writes its usage row and saves the answer. The settlement and
 * the usage row are one statement with PostgreSQL counters. The answer is an independent write,
 * so it runs at the same time, and the stream's last event waits for the slower of the two
 * rather than for their sum. Logs what fails, never throws.
 */
async function recordCall(
  input: MeteredCallInput,
  outcome: { usage: CallUsage; cost: number; latencyMs: number; status: UsageStatus; text: string },
): Promise<void> {
  const { userId, requestId, feature, model, admission } = input;
  const { usage, cost, latencyMs, status, text } = outcome;
  const totalTokens = usage.promptTokens + usage.completionTokens;

  const recording = settleAndRecordUsage({
    reservation: admission.reservation,
    usedTokens: totalTokens,
    usedCostMicros: cost,
    requestId,
    usageRow: {
      userId,
      requestId,
      feature,
      model,
      tokensIn: usage.promptTokens,
      tokensOut: usage.completionTokens,
      tokensCached: usage.cachedPromptTokens,
      costMicros: cost,
      latencyMs,
      status,
      usageSource: usage.source,
      chatId: input.chatId,
      // The row belongs to the day the request was admitted on, like its reservation, so a
      // call that runs past midnight still adds up with that day's counters.
      createdAt: admission.admittedAt,
    },
  });
  const savingAnswer =
    text && input.saveAnswer
      ? input.saveAnswer(text).catch((error: unknown) => logger.error("saving the answer failed", { requestId, userId, feature, error }))
      : undefined;

  await Promise.all([recording, savingAnswer]);
  logger.info("model call finished", { requestId, userId, feature, model, status, totalTokens, costMicros: cost, latencyMs });
}
