"use client";

import { useEffect, useRef, type KeyboardEvent } from "react";
import { MarkdownAnswer } from "@/components/chat/markdown";
import { lastQuestionIndex } from "@/components/chat/turn-view";
import type { ChatMessageView } from "@/components/chat/types";
import { primaryButton, secondaryButton } from "@/components/ui/styles";
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

/** The text typed so far while the last question is edited in place. */
export type EditingState = { text: string };

const smallActionButton =
  "inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-200 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100";

function QuestionEditor({
  editing,
  onChange,
  onCancel,
  onSubmit,
}: {
  editing: EditingState;
  onChange: (text: string) => void;
  onCancel: () => void;
  onSubmit: () => void;
}) {
  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
      return;
    }
    // As in the composer: Enter sends, Shift+Enter adds a line, and an IME's Enter only confirms.
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    onSubmit();
  }

  return (
    <form
      className="w-full max-w-[85%] space-y-2"
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      <label htmlFor="edit-question" className="sr-only">
        Edit message
      </label>
      <textarea
        id="edit-question"
        autoFocus
        value={editing.text}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={handleKeyDown}
        className="field-sizing-content block max-h-72 min-h-16 w-full resize-none rounded-xl border border-zinc-300 bg-white px-3 py-2 text-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
      />
      <div className="flex justify-end gap-2">
        <button type="button" onClick={onCancel} className={secondaryButton}>
          Cancel
        </button>
        <button type="submit" disabled={editing.text.trim() === ""} className={primaryButton}>
          Send edit
        </button>
      </div>
    </form>
  );
}

type Props = {
  messages: ChatMessageView[];
  /** Whether the last question may be edited and its answer regenerated: a stored chat and no answer streaming. */
  canChangeLastTurn: boolean;
  editing: EditingState | null;
  onEditStart: (message: ChatMessageView) => void;
  onEditChange: (text: string) => void;
  onEditCancel: () => void;
  onEditSubmit: () => void;
  onRegenerate: () => void;
};

export function MessageList(props: Props) {
  const { messages, canChangeLastTurn, editing, onEditStart, onEditChange, onEditCancel, onEditSubmit, onRegenerate } = props;
  const scrollerRef = useRef<HTMLDivElement>(null);
  const stickToBottomRef = useRef(true);
  const lastQuestion = lastQuestionIndex(messages);

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
          {messages.map((message, index) => {
            const isLast = index === messages.length - 1;
            if (message.role === "user") {
              const isLastQuestion = index === lastQuestion;
              return (
                <li key={message.id} data-role="user" className="flex flex-col items-end gap-1">
                  {editing && isLastQuestion ? (
                    <QuestionEditor editing={editing} onChange={onEditChange} onCancel={onEditCancel} onSubmit={onEditSubmit} />
                  ) : (
                    <div className="max-w-[85%] rounded-2xl rounded-br-sm bg-indigo-600 px-4 py-2.5 whitespace-pre-wrap text-white break-words">
                      {message.content}
                    </div>
                  )}
                  {canChangeLastTurn && isLastQuestion && !editing && (
                    <button type="button" onClick={() => onEditStart(message)} className={smallActionButton}>
                      Edit
                    </button>
                  )}
                  {canChangeLastTurn && isLast && !editing && (
                    <button type="button" onClick={onRegenerate} className={`${smallActionButton} self-start`}>
                      Get an answer
                    </button>
                  )}
                </li>
              );
            }
            return (
              <li
                key={message.id}
                data-role="assistant"
                aria-busy={message.state === "streaming" ? true : undefined}
                className="max-w-full"
              >
                <MarkdownAnswer text={message.content} />
                <AnswerFooter message={message} />
                {canChangeLastTurn && isLast && !editing && (
                  <button type="button" onClick={onRegenerate} className={`${smallActionButton} mt-1 -ml-2`}>
                    Regenerate
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
