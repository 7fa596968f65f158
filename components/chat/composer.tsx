"use client";

import { useEffect, useState, type KeyboardEvent, type RefObject } from "react";
import type { Budget } from "@/components/chat/types";
import { errorBox, primaryButton, secondaryButton } from "@/components/ui/styles";
import { formatInteger } from "@/lib/client/format";

/**
 * A request the API rejected before streaming: its error code and sentence, and the time its
 * limit resets (epoch milliseconds) when the API sent Retry-After.
 */
export type Rejection = { code: string | null; message: string; resetsAt: number | null };

// Names the limit a 429 or 503 hit, above the API's own sentence, which gives its numbers.
const LIMIT_HEADINGS: Record<string, string> = {
  RATE_LIMITED: "Per-minute request limit reached",
  DAILY_REQUEST_LIMIT: "Daily request limit reached",
  DAILY_TOKEN_LIMIT: "Daily token budget used up",
  SPEND_CAP_REACHED: "App-wide spending cap reached",
};

// Below this share of a daily limit left, the budget line turns amber.
const LOW_BUDGET_SHARE = 0.2;

function BudgetSummary({ budget }: { budget: Budget }) {
  const tokensLeft = Math.max(0, budget.tokensPerDay - budget.tokensToday);
  const requestsLeft = Math.max(0, budget.requestsPerDay - budget.requestsToday);
  const low = tokensLeft < budget.tokensPerDay * LOW_BUDGET_SHARE || requestsLeft < budget.requestsPerDay * LOW_BUDGET_SHARE;

  return (
    <p
      data-testid="budget"
      title="Daily limits reset at 00:00 UTC."
      className={`text-xs ${low ? "text-amber-700 dark:text-amber-400" : "text-zinc-500 dark:text-zinc-400"}`}
    >
      Today: {formatInteger(tokensLeft)} of {formatInteger(budget.tokensPerDay)} tokens left ·{" "}
      {formatInteger(requestsLeft)} of {formatInteger(budget.requestsPerDay)} requests left
    </p>
  );
}

/** Formats a wait as a clock countdown: "0:42", "12:05" or "3:04:59". */
function formatCountdown(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** Returns the current time, updated every second while `ticking`. */
function useTickingNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}

function RejectionMessage({ rejection }: { rejection: Rejection }) {
  const { code, resetsAt } = rejection;
  const now = useTickingNow(resetsAt !== null);
  const heading = code ? LIMIT_HEADINGS[code] : undefined;
  // The live countdown replaces the API's fixed "Try again in 45 seconds." at the end of its sentence.
  const message = resetsAt === null ? rejection.message : rejection.message.replace(/\s*Try again in [^.]*\.$/, "");
  const secondsLeft = resetsAt === null ? null : (resetsAt - now) / 1000;

  return (
    <div role="alert" className={errorBox}>
      {heading && <p className="font-semibold">{heading}</p>}
      <p>{message}</p>
      {resetsAt !== null && secondsLeft !== null && (
        <p className="mt-1 font-medium" data-testid="limit-countdown">
          {secondsLeft > 0 ? (
            <>
              Resets in <span className="tabular-nums">{formatCountdown(secondsLeft)}</span>, at{" "}
              {new Date(resetsAt).toLocaleTimeString()}.
            </>
          ) : (
            "The limit has reset. You can send again."
          )}
        </p>
      )}
    </div>
  );
}

type Props = {
  /** The message input, so the chat screen can keep focus in it after sending and stopping. */
  inputRef: RefObject<HTMLTextAreaElement | null>;
  draft: string;
  onDraftChange: (draft: string) => void;
  onSend: () => void;
  onStop: () => void;
  streaming: boolean;
  rejection: Rejection | null;
  budget: Budget;
  demo: boolean;
  models: string[];
  model: string | null;
  onModelChange: (model: string) => void;
};

export function Composer(props: Props) {
  const { inputRef, draft, onDraftChange, onSend, onStop, streaming, rejection, budget, demo, models, model, onModelChange } = props;

  function handleKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // Enter sends and Shift+Enter starts a new line. Enter that confirms an input method's
    // composition (Japanese, Chinese, ...) must not send a half-typed message.
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    onSend();
  }

  return (
    <div className="border-t border-zinc-200 bg-white px-3 pt-3 pb-[max(0.75rem,env(safe-area-inset-bottom))] dark:border-zinc-800 dark:bg-zinc-900">
      <form
        className="mx-auto max-w-3xl space-y-2"
        onSubmit={(event) => {
          event.preventDefault();
          onSend();
        }}
      >
        {rejection && <RejectionMessage rejection={rejection} />}

        <label htmlFor="chat-message" className="sr-only">
          Message
        </label>
        <div className="flex items-end gap-2">
          <textarea
            ref={inputRef}
            id="chat-message"
            name="message"
            rows={1}
            value={draft}
            onChange={(event) => onDraftChange(event.target.value)}
            onKeyDown={handleKeyDown}
            placeholder="Send a message…"
            aria-describedby="chat-message-keys"
            className="field-sizing-content max-h-48 min-h-10 flex-1 resize-none rounded-xl border border-zinc-300 bg-white px-3 py-2 text-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
          />
          {streaming ? (
            <button type="button" onClick={onStop} className={secondaryButton}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={draft.trim() === ""} className={primaryButton}>
              Send
            </button>
          )}
        </div>

        <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
          {demo && (
            <span
              title="Answers come from Tollgate's built-in demo model: no API key is used, but tokens and cost are counted as for a real model."
              className="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900 ring-1 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800"
            >
              Demo model
            </span>
          )}
          {models.length > 1 && (
            <label className="flex items-center gap-1.5 text-xs text-zinc-600 dark:text-zinc-400">
              Model
              <select
                value={model ?? ""}
                onChange={(event) => onModelChange(event.target.value)}
                className="rounded-md border border-zinc-300 bg-white px-1.5 py-0.5 text-xs dark:border-zinc-700 dark:bg-zinc-950"
              >
                {models.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <BudgetSummary budget={budget} />
          <p id="chat-message-keys" className="ml-auto hidden text-xs text-zinc-400 sm:block dark:text-zinc-500">
            Enter sends · Shift+Enter adds a line
          </p>
        </div>
      </form>
    </div>
  );
}
