import { getDb } from "@/lib/db/client";
import type { UsageSource, UsageStatus } from "@/lib/db/schema";
import { ERRORS } from "@/lib/errors";
import { settleRequest, type Admission } from "@/lib/limits/gate";
import { logger } from "@/lib/log";
import { costMicros } from "@/lib/llm/models";
import { UpstreamError, type ChatProvider } from "@/lib/llm/provider";
import { countTokens, type ChatMessage } from "@/lib/llm/tokens";
import { insertUsageRow } from "@/lib/usage/rows";

export type MeteredStreamInput = {
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
  /** Stores the answer; it runs after settlement, with whatever text was streamed. */
  saveAnswer?: (text: string) => Promise<void>;
};

export type CallUsage = { promptTokens: number; completionTokens: number; source: UsageSource };

/**
 * Decides what a finished, failed or stopped call used. The provider's report wins. Without it,
 * a call that streamed anything, or that was stopped by the client, was billed for its prompt
 * (counted by our tokenizer) plus the streamed text; a call that failed before producing
 * anything was not billed.
 */
export function resolveUsage(input: {
  reported: { promptTokens: number; completionTokens: number } | null;
  streamedText: string;
  estimatedPromptTokens: number;
  status: UsageStatus;
}): CallUsage {
  if (input.reported) return { ...input.reported, source: "reported" };
  if (input.status === "error" && input.streamedText === "") return { promptTokens: 0, completionTokens: 0, source: "estimated" };
  return { promptTokens: input.estimatedPromptTokens, completionTokens: countTokens(input.streamedText), source: "estimated" };
}

const encoder = new TextEncoder();

function sseEvent(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

/**
 * Calls the model and streams its answer as Server-Sent Events, then settles the reservation
 * and writes one usage row, whatever happened: success, upstream failure or a client that left.
 */
export function streamMeteredCompletion(input: MeteredStreamInput): ReadableStream<Uint8Array> {
  const upstream = new AbortController();
  const abortUpstream = () => upstream.abort(new Error("client disconnected"));
  input.signal.addEventListener("abort", abortUpstream, { once: true });

  let clientGone = false;

  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (payload: unknown) => {
        if (clientGone) return;
        try {
          controller.enqueue(sseEvent(payload));
        } catch {
          clientGone = true;
        }
      };
      void run(input, upstream.signal, send).finally(() => {
        input.signal.removeEventListener("abort", abortUpstream);
        if (!clientGone) {
          try {
            controller.close();
          } catch {
            // Already closed because the client cancelled.
          }
        }
      });
    },
    cancel() {
      clientGone = true;
      abortUpstream();
    },
  });
}

async function run(input: MeteredStreamInput, signal: AbortSignal, send: (payload: unknown) => void): Promise<void> {
  const { userId, requestId, feature, model, admission } = input;
  const startedAt = performance.now();
  let streamedText = "";
  let reported: { promptTokens: number; completionTokens: number } | null = null;
  let status: UsageStatus = "ok";
  let failure: UpstreamError | null = null;

  try {
    const events = input.provider.stream({ model, messages: input.messages, maxTokens: admission.outputCap, signal });
    for await (const event of events) {
      if (event.type === "delta") {
        streamedText += event.text;
        send({ type: "delta", text: event.text });
      } else {
        reported = { promptTokens: event.promptTokens, completionTokens: event.completionTokens };
      }
    }
    if (signal.aborted) status = "aborted";
  } catch (error) {
    if (signal.aborted) {
      status = "aborted";
    } else {
      status = "error";
      failure = error instanceof UpstreamError ? error : new UpstreamError((error as Error).message, undefined, { cause: error });
      logger.error("model call failed", { requestId, userId, feature, model, error: failure });
    }
  } finally {
    // Settlement runs whatever happened above, so no reservation stays open and every
    // admitted request leaves exactly one usage row.
    const latencyMs = Math.round(performance.now() - startedAt);
    const usage = resolveUsage({ reported, streamedText, estimatedPromptTokens: input.estimatedPromptTokens, status });
    const totalTokens = usage.promptTokens + usage.completionTokens;
    const cost = costMicros(model, usage);

    await settleRequest({ reservation: admission.reservation, usedTokens: totalTokens, usedCostMicros: cost, requestId });
    try {
      const db = await getDb();
      await insertUsageRow(db, {
        userId,
        requestId,
        feature,
        model,
        tokensIn: usage.promptTokens,
        tokensOut: usage.completionTokens,
        costMicros: cost,
        latencyMs,
        status,
        usageSource: usage.source,
        chatId: input.chatId,
      });
      if (streamedText && input.saveAnswer) await input.saveAnswer(streamedText);
    } catch (error) {
      logger.error("writing the usage row failed", { requestId, userId, feature, error });
    }

    logger.info("model call finished", { requestId, userId, feature, model, status, totalTokens, costMicros: cost, latencyMs });
    if (status === "ok") {
      send({
        type: "done",
        usage: {
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          totalTokens,
          costUsd: cost / 1_000_000,
        },
        chatId: input.chatId,
      });
    } else if (status === "error") {
      send({ type: "error", code: "UPSTREAM_ERROR", error: ERRORS.UPSTREAM_ERROR.message });
    }
  }
}
