"use client";

import { Bar, CartesianGrid, ComposedChart, Line, Tooltip, XAxis, YAxis, type TooltipContentProps } from "recharts";
import type { NameType, ValueType } from "recharts/types/component/DefaultTooltipContent";
import { formatCount, formatUsd } from "@/lib/client/format";

type Day = { day: string; requests: number; tokens: number; costUsd: number };

// Days are UTC days, so their labels are formatted in UTC too.
const dayLabel = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
const compactNumber = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

function formatDay(day: string): string {
  return dayLabel.format(new Date(`${day}T00:00:00Z`));
}

// Two significant digits, so that close ticks such as $0.00015 and $0.0002 stay distinct.
const smallUsd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumSignificantDigits: 2 });

function formatAxisUsd(value: number): string {
  if (value === 0) return "$0";
  if (value < 10) return smallUsd.format(value);
  return `$${compactNumber.format(value)}`;
}

// Colours that read on both the light and the dark background.
const TOKENS_COLOUR = "#6366f1";
const COST_COLOUR = "#f59e0b";

function DayTooltip({ active, payload }: TooltipContentProps<ValueType, NameType>) {
  const day = payload?.[0]?.payload as Day | undefined;
  if (!active || !day) return null;
  return (
    <div className="rounded-lg border border-zinc-200 bg-white px-3 py-2 text-xs shadow-md dark:border-zinc-700 dark:bg-zinc-900">
      <p className="font-medium">{formatDay(day.day)} (UTC)</p>
      <p className="text-zinc-600 dark:text-zinc-300">{formatCount(day.requests, "request")}</p>
      <p style={{ color: TOKENS_COLOUR }}>{formatCount(day.tokens, "token")}</p>
      <p className="text-amber-700 dark:text-amber-400">{formatUsd(day.costUsd)}</p>
    </div>
  );
}

/**
 * Tokens (bars, left axis) and cost (line, right axis) per UTC day. The same figures are in a
 * table under it for screen readers and for reading exact values.
 */
export function UsageChart({ days }: { days: Day[] }) {
  return (
    <figure className="space-y-3">
      <figcaption className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-zinc-600 dark:text-zinc-400">
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block size-2.5 rounded-sm" style={{ background: TOKENS_COLOUR }} />
          Tokens (left axis)
        </span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block h-0.5 w-3 rounded-full" style={{ background: COST_COLOUR }} />
          Cost in US dollars (right axis)
        </span>
      </figcaption>

      <div className="h-64 w-full text-zinc-500 sm:h-72 dark:text-zinc-400">
        <ComposedChart
          responsive
          data={days}
          margin={{ top: 8, right: 0, bottom: 0, left: 0 }}
          style={{ width: "100%", height: "100%" }}
          title="Tokens and cost per day"
        >
          <CartesianGrid vertical={false} stroke="currentColor" strokeOpacity={0.2} />
          <XAxis
            dataKey="day"
            tickFormatter={formatDay}
            tick={{ fill: "currentColor", fontSize: 11 }}
            stroke="currentColor"
            strokeOpacity={0.4}
            minTickGap={16}
          />
          <YAxis
            yAxisId="tokens"
            tickFormatter={(value: number) => compactNumber.format(value)}
            tick={{ fill: "currentColor", fontSize: 11 }}
            stroke="currentColor"
            strokeOpacity={0.4}
            width={40}
            allowDecimals={false}
          />
          <YAxis
            yAxisId="cost"
            orientation="right"
            tickFormatter={formatAxisUsd}
            tick={{ fill: "currentColor", fontSize: 11 }}
            stroke="currentColor"
            strokeOpacity={0.4}
            // Wide enough for two significant digits of a small cost, such as $0.00015.
            width={64}
          />
          <Tooltip content={DayTooltip} cursor={{ fill: "currentColor", fillOpacity: 0.08 }} />
          <Bar yAxisId="tokens" dataKey="tokens" name="Tokens" fill={TOKENS_COLOUR} radius={[3, 3, 0, 0]} isAnimationActive={false} />
          <Line
            yAxisId="cost"
            dataKey="costUsd"
            name="Cost"
            type="linear"
            stroke={COST_COLOUR}
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      </div>

      <details className="text-sm">
        <summary className="cursor-pointer text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100">
          Show the figures as a table
        </summary>
        <div className="mt-2 max-h-72 overflow-y-auto">
          <table className="w-full text-sm">
            <caption className="sr-only">Requests, tokens and cost per UTC day</caption>
            <thead className="text-xs text-zinc-500 dark:text-zinc-400">
              <tr className="border-b border-zinc-200 dark:border-zinc-800">
                <th scope="col" className="py-1.5 pr-3 text-left font-medium">
                  Day (UTC)
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
              {[...days].reverse().map((day) => (
                <tr key={day.day} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800/60">
                  <th scope="row" className="py-1 pr-3 text-left font-normal">
                    <time dateTime={day.day}>{formatDay(day.day)}</time>
                  </th>
                  <td className="py-1 pr-3 text-right">{day.requests.toLocaleString("en-US")}</td>
                  <td className="py-1 pr-3 text-right">{day.tokens.toLocaleString("en-US")}</td>
                  <td className="py-1 text-right">{formatUsd(day.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
