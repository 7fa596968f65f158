import { formatCount, formatUsd } from "@/lib/client/format";

type Day = { day: string; requests: number; tokens: number; costUsd: number };

// Days are UTC days, so their labels are formatted in UTC too.
const dayLabel = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

/** Tokens per UTC day as a list of horizontal bars scaled to the busiest day. */
export function DailyBars({ days }: { days: Day[] }) {
  const busiest = Math.max(1, ...days.map((day) => day.tokens));

  return (
    <ol className="space-y-1">
      {[...days].reverse().map((day) => {
        const width = day.tokens === 0 ? 0 : Math.max(1, Math.round((day.tokens / busiest) * 100));
        return (
          <li
            key={day.day}
            className="grid grid-cols-[3.75rem_1fr_4.5rem] items-center gap-2 text-xs sm:grid-cols-[4rem_1fr_6rem]"
            title={`${formatCount(day.requests, "request")}, ${formatUsd(day.costUsd)}`}
          >
            <span className="text-zinc-500 tabular-nums dark:text-zinc-400">
              <time dateTime={day.day}>{dayLabel.format(new Date(`${day.day}T00:00:00Z`))}</time>
            </span>
            <span className="h-3 rounded-sm bg-zinc-100 dark:bg-zinc-800/60">
              <span className="block h-full rounded-sm bg-indigo-500" style={{ width: `${width}%` }} />
            </span>
            <span className="text-right tabular-nums">{formatCount(day.tokens, "token")}</span>
          </li>
        );
      })}
    </ol>
  );
}
