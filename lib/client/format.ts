// Formatting shared by Server and Client Components. Numbers use en-US grouping on both sides,
// so the server's HTML and the browser's hydration render the same text.

const integerFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatInteger(value: number): string {
  return integerFormat.format(value);
}

/** Formats a count with its noun, such as "1 request" or "2,048 requests". */
export function formatCount(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatInteger(count)} ${count === 1 ? singular : plural}`;
}

/** Formats dollars with 2 decimals, or 6 when a non-zero amount is under a cent. */
export function formatUsd(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return `$${value.toFixed(6)}`;
  return `$${value.toFixed(2)}`;
}

/** Formats a wait in seconds as "45 seconds", "3 minutes" or "5 hours", rounding up. */
export function formatWait(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 90) return whole === 1 ? "1 second" : `${whole} seconds`;
  if (whole < 90 * 60) return `${Math.ceil(whole / 60)} minutes`;
  return `${Math.ceil(whole / 3600)} hours`;
}

/** Share of a limit used, from 0 to 100. A limit of 0 counts as full. */
export function percentUsed(used: number, limit: number): number {
  if (limit <= 0) return 100;
  return Math.min(100, Math.max(0, Math.round((used / limit) * 100)));
}
