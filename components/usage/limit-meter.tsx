import type { ReactNode } from "react";
import { formatInteger, percentUsed } from "@/lib/client/format";

type Props = {
  label: string;
  used: number;
  limit: number;
  /** Word for the counted thing in the spoken value, such as "requests". */
  unit: string;
  /** When the limit frees up, shown under the bar. */
  reset: ReactNode;
};

function barColour(percent: number): string {
  if (percent >= 100) return "bg-red-500";
  if (percent >= 80) return "bg-amber-500";
  return "bg-indigo-500";
}

/** Shows one limit of the plan and today's use of it as an accessible progress bar. */
export function LimitMeter({ label, used, limit, unit, reset }: Props) {
  const percent = percentUsed(used, limit);
  const labelId = `meter-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;

  return (
    <div className="space-y-2">
      <div className="flex items-baseline justify-between gap-3">
        <span id={labelId} className="text-sm font-medium">
          {label}
        </span>
        <span className="text-sm text-zinc-600 tabular-nums dark:text-zinc-400">
          {formatInteger(used)} / {formatInteger(limit)}
        </span>
      </div>
      <div
        role="progressbar"
        aria-labelledby={labelId}
        aria-valuemin={0}
        aria-valuemax={limit}
        aria-valuenow={Math.min(used, limit)}
        aria-valuetext={`${formatInteger(used)} of ${formatInteger(limit)} ${unit}`}
        className="h-2.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div className={`h-full rounded-full ${barColour(percent)}`} style={{ width: `${percent}%` }} />
      </div>
      <p className="text-xs text-zinc-500 dark:text-zinc-400">{reset}</p>
    </div>
  );
}
