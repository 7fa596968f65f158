import type { ReactNode } from "react";
import { formatInteger, percentUsed } from "@/lib/client/format";
import { NEAR_LIMIT_SHARE } from "@/lib/usage/flags";

export type LimitUse = { label: string; used: number; limit: number; reset: ReactNode };

/**
 * Warns when any limit is at NEAR_LIMIT_SHARE or more, naming each such limit and when it frees
 * up. Renders nothing below that. A reached limit is worded as one, because the next request
 * against it will be rejected.
 */
export function LimitWarning({ limits }: { limits: LimitUse[] }) {
  const near = limits.filter((item) => item.used >= item.limit * NEAR_LIMIT_SHARE);
  if (near.length === 0) return null;
  const reached = near.some((item) => item.used >= item.limit);

  return (
    <section
      aria-labelledby="limit-warning-heading"
      className={
        reached
          ? "rounded-xl border border-red-200 bg-red-50 p-4 text-red-900 dark:border-red-900/60 dark:bg-red-950/50 dark:text-red-100"
          : "rounded-xl border border-amber-200 bg-amber-50 p-4 text-amber-900 dark:border-amber-900/60 dark:bg-amber-950/40 dark:text-amber-100"
      }
    >
      <h2 id="limit-warning-heading" className="text-sm font-semibold">
        {reached ? "You have reached a limit of your plan" : `You have used over ${Math.round(NEAR_LIMIT_SHARE * 100)}% of a limit`}
      </h2>
      <ul className="mt-2 space-y-1 text-sm">
        {near.map((item) => (
          <li key={item.label}>
            <span className="font-medium">{item.label}:</span> {formatInteger(item.used)} of {formatInteger(item.limit)} (
            {percentUsed(item.used, item.limit)}%). {item.reset}
          </li>
        ))}
      </ul>
    </section>
  );
}
