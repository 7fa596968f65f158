import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const REPORT = path.resolve(__dirname, "..", "..", "docs", "benchmarks.md");
const NEW_REPORT = "# Benchmarks\n\nMeasured figures, with the machine and the command behind each.\n";

/**
 * Writes one benchmark's section into docs/benchmarks.md, replacing the text between its start
 * and end markers, or appending it when the markers are missing. Other sections are untouched.
 */
export function writeReportSection(input: { section: string; start: string; end: string }): void {
  const current = existsSync(REPORT) ? readFileSync(REPORT, "utf8") : NEW_REPORT;
  const startAt = current.indexOf(input.start);
  const endAt = current.indexOf(input.end);
  const updated =
    startAt >= 0 && endAt > startAt
      ? `${current.slice(0, startAt)}${input.section}${current.slice(endAt + input.end.length)}`
      : `${current.trimEnd()}\n\n${input.section}\n`;
  writeFileSync(REPORT, updated);
}
