"use client";

import { useEffect, useRef, useState, type ReactNode } from "react";
import type { ExtraProps } from "react-markdown";

type CopyState = "idle" | "copied" | "failed";

// How long "Copied" or the failure stays on the button before it reads "Copy code" again.
const COPY_FEEDBACK_MS = 2_000;

/** Reads the fence's language ("ts" from "```ts") from the class rehype-highlight keeps on `<code>`. */
function codeLanguage(node: ExtraProps["node"]): string | null {
  const code = node?.children[0];
  if (!code || code.type !== "element" || code.tagName !== "code") return null;
  const classNames = Array.isArray(code.properties.className) ? code.properties.className : [];
  const languageClass = classNames.find((name) => typeof name === "string" && name.startsWith("language-"));
  return typeof languageClass === "string" ? languageClass.slice("language-".length) : null;
}

const COPY_LABELS: Record<CopyState, string> = { idle: "Copy code", copied: "Copied", failed: "Copy failed" };

/** Renders a fenced code block with its language and a button that copies the code. */
export function CodeBlock({ node, children }: { node: ExtraProps["node"]; children: ReactNode }) {
  const preRef = useRef<HTMLPreElement>(null);
  const [copyState, setCopyState] = useState<CopyState>("idle");
  const language = codeLanguage(node);

  useEffect(() => {
    if (copyState === "idle") return;
    const timer = setTimeout(() => setCopyState("idle"), COPY_FEEDBACK_MS);
    return () => clearTimeout(timer);
  }, [copyState]);

  async function copy() {
    // The Clipboard API exists only in secure contexts (HTTPS or localhost).
    try {
      await navigator.clipboard.writeText(preRef.current?.textContent ?? "");
      setCopyState("copied");
    } catch {
      setCopyState("failed");
    }
  }

  return (
    <div className="my-3 overflow-hidden rounded-lg border border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-950">
      <div className="flex items-center justify-between gap-2 border-b border-zinc-200 px-3 py-1 dark:border-zinc-800">
        <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">{language ?? "code"}</span>
        <button
          type="button"
          onClick={copy}
          className="rounded px-2 py-0.5 text-xs font-medium text-zinc-600 hover:bg-zinc-200 hover:text-zinc-900 dark:text-zinc-300 dark:hover:bg-zinc-800 dark:hover:text-zinc-50"
        >
          <span aria-live="polite">{COPY_LABELS[copyState]}</span>
        </button>
      </div>
      <pre ref={preRef} className="overflow-x-auto p-3 font-mono text-[0.8125rem] leading-relaxed">
        {children}
      </pre>
    </div>
  );
}
