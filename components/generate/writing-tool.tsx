"use client";

import { useState, useTransition } from "react";
import { generateText, type GenerateActionResult } from "@/app/(app)/generate/actions";
import { card, errorBox, primaryButton, textInput } from "@/components/ui/styles";
import { formatCount, formatInteger, formatUsd, formatWait } from "@/lib/client/format";

const TASKS = [
  { value: "improve", label: "Improve" },
  { value: "summarize", label: "Summarize" },
  { value: "shorten", label: "Shorten" },
] as const;

async function runWithRefresh(input: { prompt: string; task: string }): Promise<GenerateActionResult> {
  const result = await generateText(input);
  if (result.ok || result.code !== "TOKEN_EXPIRED") return result;

  // The access token expired while the page was open: refresh the session once and try again.
  const refreshed = await fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" });
  if (!refreshed.ok) {
    window.location.assign("/sign-in?next=/generate");
    return result;
  }
  return generateText(input);
}

/** Renders the writing tool: a text, a task, and the model's result with what it cost. */
export function WritingTool({ demo }: { demo: boolean }) {
  const [prompt, setPrompt] = useState("");
  const [task, setTask] = useState<(typeof TASKS)[number]["value"]>("improve");
  const [result, setResult] = useState<GenerateActionResult | null>(null);
  const [pending, startTransition] = useTransition();

  function submit() {
    if (prompt.trim() === "" || pending) return;
    startTransition(async () => {
      setResult(await runWithRefresh({ prompt, task }));
    });
  }

  return (
    <div className="space-y-4">
      <form
        className={`${card} space-y-3`}
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <label htmlFor="generate-text" className="block text-sm font-medium">
          Text
        </label>
        <textarea
          id="generate-text"
          value={prompt}
          onChange={(event) => setPrompt(event.target.value)}
          rows={8}
          className={`${textInput} resize-y`}
          placeholder="Paste or write the text to work on"
        />
        <fieldset className="flex flex-wrap items-center gap-4">
          <legend className="sr-only">Task</legend>
          {TASKS.map((option) => (
            <label key={option.value} className="flex items-center gap-1.5 text-sm">
              <input
                type="radio"
                name="task"
                value={option.value}
                checked={task === option.value}
                onChange={() => setTask(option.value)}
                className="accent-indigo-600"
              />
              {option.label}
            </label>
          ))}
          {demo && (
            <span className="rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900 ring-1 ring-amber-300 dark:bg-amber-950 dark:text-amber-200 dark:ring-amber-800">
              Demo model
            </span>
          )}
          <button type="submit" disabled={pending || prompt.trim() === ""} className={`${primaryButton} ml-auto`}>
            {pending ? "Working…" : "Run"}
          </button>
        </fieldset>
      </form>

      {result && !result.ok && (
        <div role="alert" className={errorBox}>
          <p>{result.error}</p>
          {result.retryAfterSeconds !== null && <p>Resets in {formatWait(result.retryAfterSeconds)}.</p>}
        </div>
      )}

      {result?.ok && (
        <section aria-labelledby="result-heading" className={card}>
          <h2 id="result-heading" className="text-sm font-semibold">
            Result
          </h2>
          <p data-testid="generate-result" className="mt-2 text-sm leading-relaxed whitespace-pre-wrap">
            {result.text}
          </p>
          <p className="mt-3 text-xs text-zinc-500 dark:text-zinc-400">
            {formatCount(result.usage.totalTokens, "token")} ({formatInteger(result.usage.promptTokens)} prompt,{" "}
            {formatInteger(result.usage.completionTokens)} completion) · {formatUsd(result.usage.costUsd)}
          </p>
        </section>
      )}
    </div>
  );
}
