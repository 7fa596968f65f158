import { formatInteger, formatUsd } from "@/lib/client/format";

type Row = { name: string; requests: number; tokens: number; costUsd: number };

/**
 * Requests, tokens and cost grouped by one dimension, such as feature or model, with each row's
 * share of the total cost as a bar.
 */
export function BreakdownTable({ caption, dimension, rows }: { caption: string; dimension: string; rows: Row[] }) {
  const totalCost = rows.reduce((sum, row) => sum + row.costUsd, 0);

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
        {rows.map((row) => {
          const share = totalCost > 0 ? Math.round((row.costUsd / totalCost) * 100) : 0;
          return (
            <tr key={row.name} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/60">
              <th scope="row" className="py-1.5 pr-3 text-left font-normal">
                <span className="block break-all">{row.name}</span>
                <span aria-hidden="true" className="mt-1 block h-1 rounded-full bg-zinc-100 dark:bg-zinc-800">
                  <span className="block h-full rounded-full bg-indigo-500" style={{ width: `${share}%` }} />
                </span>
              </th>
              <td className="py-1.5 pr-3 text-right align-top">{formatInteger(row.requests)}</td>
              <td className="py-1.5 pr-3 text-right align-top">{formatInteger(row.tokens)}</td>
              <td className="py-1.5 text-right align-top">
                {formatUsd(row.costUsd)}
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">{share}%</span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
