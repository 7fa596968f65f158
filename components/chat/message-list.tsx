"use client";

import { useEffect, useRef } from "react";
import type { ChatMessageView } from "@/components/chat/types";
import { formatCount, formatInteger, formatUsd } from "@/lib/client/format";

// Within this many pixels of the bottom, new text keeps the view scrolled to the end.
const STICK_TO_BOTTOM_PX = 80;

function AnswerFooter({ message }: { message: ChatMessageView }) {
  if (message.state === "streaming") {
    return message.content === "" ? (
      <p className="mt-2 animate-pulse text-sm text-zinc-500" aria-live="polite">
        Waiting for the answer…
      </p>
    ) : null;
  }
  if (message.state === "stopped") {
    return (
      <p className="mt-2 text-xs text-zinc-500">
        Stopped. Tokens used up to this point still count toward today&apos;s budget.
      </p>
    );
  }
  if (message.state === "failed") {
    return (
      <p role="alert" className="mt-2 text-sm text-red-700 dark:text-red-300">
        {message.failure}
      </p>
    );
  }
  if (!message.usage) return null;

  const { totalTokens, promptTokens, completionTokens, costUsd } = message.usage;
  return (
    <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
      {formatCount(totalTokens, "token")} ({formatInteger(promptTokens)} prompt, {formatInteger(completionTokens)}{" "}
      completion) · {formatUsd(costUsd)}
    </p>
  );
}

export function MessageList({ messages }: { messages: ChatMessageView[] }) {
  const scrollerRef = useRef<HTMLDivElement>(null);
  const stickToBottomRef = useRef(true);

  useEffect(() => {
    const scroller = scrollerRef.current;
    if (scroller && stickToBottomRef.current) scroller.scrollTop = scroller.scrollHeight;
  }, [messages]);

  function handleScroll() {
    const scroller = scrollerRef.current;
    if (!scroller) return;
    stickToBottomRef.current = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < STICK_TO_BOTTOM_PX;
  }

  return (
    <div ref={scrollerRef} onScroll={handleScroll} className="min-h-0 flex-1 overflow-y-auto">
      {messages.length === 0 ? (
        <div className="mx-auto flex h-full max-w-md flex-col items-center justify-center px-6 text-center">
          <h1 className="text-xl font-semibold tracking-tight">Start a conversation</h1>
          <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
            Each message is checked against your plan&apos;s limits before the model runs, and its tokens and cost
            appear under the answer.
          </p>
        </div>
      ) : (
        <ol aria-label="Conversation" className="mx-auto max-w-3xl space-y-6 px-4 py-6">
          {messages.map((message) =>
            message.role === "user" ? (
              <li key={message.id} data-role="user" className="flex justify-end">
                <div className="max-w-[85%] rounded-2xl rounded-br-sm bg-indigo-600 px-4 py-2.5 whitespace-pre-wrap text-white break-words">
                  {message.content}
                </div>
              </li>
            ) : (
              <li
                key={message.id}
                data-role="assistant"
                aria-busy={message.state === "streaming" ? true : undefined}
                className="max-w-full"
              >
                <div className="leading-relaxed whitespace-pre-wrap break-words">{message.content}</div>
                <AnswerFooter message={message} />
              </li>
            ),
          )}
        </ol>
      )}
    </div>
  );
}
