import { LocalTime } from "@/components/ui/local-time";
import { formatInteger, formatUsd } from "@/lib/client/format";
import type { UsageRecord } from "@/lib/usage/queries";

const STATUS_STYLES: Record<string, string> = {
  ok: "bg-emerald-50 text-emerald-800 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-900",
  error: "bg-red-50 text-red-800 ring-red-200 dark:bg-red-950 dark:text-red-300 dark:ring-red-900",
  aborted: "bg-zinc-100 text-zinc-700 ring-zinc-200 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700",
};

const headers = [
  { label: "Time", align: "text-left" },
  { label: "Feature", align: "text-left" },
  { label: "Model", align: "text-left" },
  { label: "Tokens in", align: "text-right" },
  { label: "Tokens out", align: "text-right" },
  { label: "Cost", align: "text-right" },
  { label: "Latency", align: "text-right" },
  { label: "Status", align: "text-left" },
  { label: "Token count", align: "text-left" },
];

/** Lists the latest usage rows. "Token count" shows whether the provider reported the tokens or Tollgate estimated them. */
export function RecentRequestsTable({ records }: { records: UsageRecord[] }) {
  return (
    <div role="region" aria-label="Recent requests, scrolls sideways" tabIndex={0} className="relative -mx-4 overflow-x-auto px-4 sm:-mx-5 sm:px-5">
      <table className="w-full min-w-[44rem] text-sm">
        <thead className="text-xs text-zinc-500 dark:text-zinc-400">
          <tr className="border-b border-zinc-200 dark:border-zinc-800">
            {headers.map(({ label, align }, index) => (
              <th
                key={label}
                scope="col"
                className={`py-2 pr-3 font-medium whitespace-nowrap last:pr-0 ${align} ${index === 0 ? "sticky left-0 z-10 bg-white dark:bg-zinc-900" : ""}`}
              >
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {records.map((record) => (
            <tr key={record.id} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/60">
              <td className="sticky left-0 z-10 bg-white py-2 pr-3 whitespace-nowrap dark:bg-zinc-900">
                <LocalTime iso={record.createdAt} format="date-time" />
                {/* On a phone the other columns are off to the side, so the time cell repeats the figures. */}
                <span className="block text-xs text-zinc-600 sm:hidden dark:text-zinc-400">
                  {formatInteger(record.tokensIn)} in · {formatInteger(record.tokensOut)} out · {formatUsd(record.costUsd)} · {record.status}
                </span>
              </td>
              <td className="py-2 pr-3">{record.feature}</td>
              <td className="py-2 pr-3 whitespace-nowrap">{record.model}</td>
              <td className="py-2 pr-3 text-right">{formatInteger(record.tokensIn)}</td>
              <td className="py-2 pr-3 text-right">{formatInteger(record.tokensOut)}</td>
              <td className="py-2 pr-3 text-right">{formatUsd(record.costUsd)}</td>
              <td className="py-2 pr-3 text-right whitespace-nowrap">{formatInteger(record.latencyMs)} ms</td>
              <td className="py-2 pr-3">
                <span
                  className={`rounded-full px-2 py-0.5 text-xs font-medium ring-1 ${STATUS_STYLES[record.status] ?? STATUS_STYLES.aborted}`}
                >
                  {record.status}
                </span>
              </td>
              <td className="py-2 text-zinc-600 dark:text-zinc-400">{record.usageSource}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
