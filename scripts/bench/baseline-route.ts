/**
 * The baseline of `npm run bench:overhead`: POST /api/chat without the control layer. It
 * streams the same model answer through the same provider code (the `openai` SDK with stream and
 * include_usage) and the same chat storage, but verifies no token, reserves nothing, writes no
 * usage row and is not matched by middleware.
 *
 * An unauthenticated route that spends model credit is what Tollgate exists to prevent, so this
 * file lives outside `app/`. The benchmark copies it to BASELINE_ROUTE_FILE (scripts/bench/baseline.ts)
 * inside its own copy of the project before `next build`, and tests/unit/no-baseline-route.test.ts
 * checks that the production build has no such route.
 *
 * With the `x-bench-user-id` header, the question and answer are stored in a new chat of that
 * user, as POST /api/chat does for a message without a chat id. Without it, nothing is stored.
 */
import { z } from "zod";
import { insertChatWithMessage, insertMessage, titleFromMessage } from "@/lib/chat/conversations";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { parseJsonBody } from "@/lib/http";
import { costMicros } from "@/lib/llm/models";
import { getProvider, type StreamEvent } from "@/lib/llm/provider";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const bodySchema = z.object({ message: z.string().min(1), model: z.string().max(100).optional() });
const encoder = new TextEncoder();

function sseEvent(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

export async function POST(request: Request): Promise<Response> {
  const input = await parseJsonBody(request, bodySchema);
  const { llm, plans, prices } = getConfig();
  const model = input.model ?? llm.model;
  const userId = request.headers.get("x-bench-user-id");

  const db = userId ? await getDb() : null;
  const chatId =
    db && userId
      ? await insertChatWithMessage(db, { userId, title: titleFromMessage(input.message), role: "user", content: input.message })
      : null;

  const events = getProvider()
    .stream({
      model,
      messages: [{ role: "user", content: input.message }],
      maxTokens: plans.free.maxOutputTokens,
      signal: request.signal,
    })
    [Symbol.asyncIterator]();

  // Like the gated route, the response starts once the first piece of text has arrived.
  let first = await events.next();
  let text = "";
  let usage: Extract<StreamEvent, { type: "usage" }> | null = null;

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (!first.done) {
        const event = first.value;
        first = await events.next();
        if (event.type === "usage") {
          usage = event;
          continue;
        }
        text += event.text;
        controller.enqueue(sseEvent({ type: "delta", text: event.text }));
        return;
      }

      if (db && chatId && text) await insertMessage(db, { chatId, role: "assistant", content: text });
      const promptTokens = usage?.promptTokens ?? 0;
      const completionTokens = usage?.completionTokens ?? 0;
      const cost = costMicros(model, { promptTokens, completionTokens }, prices);
      controller.enqueue(
        sseEvent({
          type: "done",
          usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, costUsd: cost / 1_000_000 },
          chatId,
        }),
      );
      controller.close();
    },
    async cancel() {
      await events.return?.();
    },
  });

  return new Response(stream, {
    headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform" },
  });
}
