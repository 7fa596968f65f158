import { formatInteger, formatUsd } from "@/lib/client/format";

type Row = { name: string; requests: number; tokens: number; costUsd: number };

/** Requests, tokens and cost grouped by one dimension, such as feature or model. */
export function BreakdownTable({ caption, dimension, rows }: { caption: string; dimension: string; rows: Row[] }) {
  return (
    <table className="w-full text-sm">
      <caption className="mb-2 text-left text-sm font-semibold">{caption}</caption>
      <thead className="text-xs text-zinc-500 dark:text-zinc-400">
        <tr className="border-b border-zinc-200 dark:border-zinc-800">
          <th scope="col" className="py-1.5 pr-3 text-left font-medium">
            {dimension}
          </th>
          <th scope="col" className="py-1.5 pr-3 text-right font-medium">
            Requests
          </th>
          <th scope="col" className="py-1.5 pr-3 text-right font-medium">
            Tokens
          </th>
          <th scope="col" className="py-1.5 text-right font-medium">
            Cost
          </th>
        </tr>
      </thead>
      <tbody className="tabular-nums">
        {rows.map((row) => (
          <tr key={row.name} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/60">
            <th scope="row" className="py-1.5 pr-3 text-left font-normal break-all">
              {row.name}
            </th>
            <td className="py-1.5 pr-3 text-right">{formatInteger(row.requests)}</td>
            <td className="py-1.5 pr-3 text-right">{formatInteger(row.tokens)}</td>
            <td className="py-1.5 text-right">{formatUsd(row.costUsd)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
