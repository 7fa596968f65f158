import { ApiError, ERRORS } from "@/lib/errors";
import { runMeteredCall, type MeteredCallInput, type MeteredResult } from "@/lib/llm/metered-call";

export type MeteredStreamInput = MeteredCallInput;

export type OpenedStream =
  | { ok: true; stream: ReadableStream<Uint8Array> }
  /** The model failed before sending any text; the call is already settled and recorded. */
  | { ok: false; error: ApiError };

const encoder = new TextEncoder();

function sseEvent(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

function doneEvent(result: MeteredResult, chatId: string | null) {
  const { promptTokens, completionTokens } = result.usage;
  return {
    type: "done",
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, costUsd: result.costMicros / 1_000_000 },
    chatId,
  };
}

/**
 * Starts a metered call whose answer goes out as Server-Sent Events. The promise resolves once
 * the model has sent its first piece of text, or has ended without any. With
 * `jsonErrorBeforeText`, a failure before any text resolves as an error for the caller to send
 * as JSON; otherwise every failure ends the stream with an error event.
 */
function startStreamedCall(input: MeteredStreamInput, jsonErrorBeforeText: boolean): Promise<OpenedStream> {
  // Cancelling the response body (the client left) aborts the upstream call too.
  const clientGone = new AbortController();
  const signal = AbortSignal.any([input.signal, clientGone.signal]);
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;

  const stream = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
    },
    cancel() {
      closed = true;
      clientGone.abort(new Error("client disconnected"));
    },
  });

  const send = (payload: unknown) => {
    if (closed) return;
    try {
      controller.enqueue(sseEvent(payload));
    } catch {
      closed = true;
    }
  };
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      controller.close();
    } catch {
      // Already closed because the client cancelled.
    }
  };

  return new Promise<OpenedStream>((resolve) => {
    let sentText = false;
    const onDelta = (text: string) => {
      send({ type: "delta", text });
      if (!sentText) resolve({ ok: true, stream });
      sentText = true;
    };

    void runMeteredCall({ ...input, signal }, onDelta).then((result) => {
      if (result.status === "error" && !sentText && jsonErrorBeforeText) {
        close();
        resolve({ ok: false, error: new ApiError("UPSTREAM_ERROR") });
        return;
      }
      if (result.status === "ok") send(doneEvent(result, input.chatId));
      if (result.status === "error") send({ type: "error", code: "UPSTREAM_ERROR", error: ERRORS.UPSTREAM_ERROR.message });
      close();
      resolve({ ok: true, stream });
    });
  });
}

/**
 * Calls the model and, once its first text arrives, returns the answer as a stream of
 * Server-Sent Events. A failure before any text is returned as an error (502 UPSTREAM_ERROR)
 * for a JSON response; after that, the stream ends with an error event. Either way the call is
 * settled and recorded.
 */
export function openMeteredStream(input: MeteredStreamInput): Promise<OpenedStream> {
  return startStreamedCall(input, true);
}

/**
 * Calls the model and returns its answer as Server-Sent Events at once, without waiting for the
 * first text; every failure arrives as an error event.
 */
export function streamMeteredCompletion(input: MeteredStreamInput): ReadableStream<Uint8Array> {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  // When the client cancels `readable`, pipeTo cancels the call's stream, which aborts the call.
  void startStreamedCall(input, false).then((opened) => (opened.ok ? opened.stream.pipeTo(writable).catch(() => {}) : undefined));
  return readable;
}
