import os from "node:os";
import type { LoadSummary } from "@/scripts/bench/load";
import type { VerifyFigures, VerifyReport } from "@/scripts/bench/verify-tokens";

type Variant = "gated" | "baseline" | "bare";
type StoreKind = "postgres" | "redis";

/** One load run. `round` is -1 for the runs that vary the number of users. */
export type Measurement = {
  store: StoreKind;
  variant: Variant;
  concurrency: number;
  users: number;
  round: number;
  summary: LoadSummary & {
    loadAverage: number;
    /** CPU time of the `next start` process per completed request, in ms; null without /proc. */
    appCpuMsPerRequest: number | null;
    /** CPU time of the Upstash REST bridge per completed request, in ms; null without a bridge. */
    bridgeCpuMsPerRequest: number | null;
    /** CPU time of the PostgreSQL and Redis server processes per completed request, in ms. */
    databaseCpuMsPerRequest: number | null;
    /** Busy time of all the machine's CPUs per completed request, in ms, whatever ran on them. */
    machineCpuMsPerRequest: number | null;
  };
};

export type ReportInput = {
  sectionStart: string;
  sectionEnd: string;
  startedAt: Date;
  command: string;
  options: { seconds: number; rounds: number; users: number; warmUpSeconds: number };
  storeNames: Record<StoreKind, string>;
  phases: Array<{ store: StoreKind; detail: string }>;
  measurements: Measurement[];
  verify: VerifyReport;
  verifyPinned: boolean;
};

// The targets: gated throughput at least 80% of the baseline's at every concurrency, and at
// concurrency 16 at most 2 ms more at p50 and 10 ms more at p99. Verification: 50,000 tokens a
// second on one core.
const TARGET_THROUGHPUT_RATIO = 0.8;
const TARGET_CONCURRENCY = 16;
const TARGET_ADDED_P50_MS = 2;
const TARGET_ADDED_P99_MS = 10;
const TARGET_VERIFICATIONS_PER_SECOND = 50_000;

type Aggregate = {
  requestsPerSecond: number;
  minRequestsPerSecond: number;
  maxRequestsPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  firstByteP50: number;
  firstByteP99: number;
  loadAverage: number;
  appCpuMsPerRequest: number | null;
  bridgeCpuMsPerRequest: number | null;
  databaseCpuMsPerRequest: number | null;
  machineCpuMsPerRequest: number | null;
  runs: number;
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function medianOrNull(values: Array<number | null>): number | null {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : median(known);
}

/** Combines the rounds of one configuration: the median of each figure, and the throughput's range. */
function aggregate(runs: Measurement[]): Aggregate {
  const pick = (read: (summary: Measurement["summary"]) => number) => runs.map((run) => read(run.summary));
  const throughput = pick((summary) => summary.requestsPerSecond);
  return {
    requestsPerSecond: median(throughput),
    minRequestsPerSecond: Math.min(...throughput),
    maxRequestsPerSecond: Math.max(...throughput),
    latencyP50: median(pick((summary) => summary.latencyP50)),
    latencyP99: median(pick((summary) => summary.latencyP99)),
    firstByteP50: median(pick((summary) => summary.firstByteP50)),
    firstByteP99: median(pick((summary) => summary.firstByteP99)),
    loadAverage: median(pick((summary) => summary.loadAverage)),
    appCpuMsPerRequest: medianOrNull(runs.map((run) => run.summary.appCpuMsPerRequest)),
    bridgeCpuMsPerRequest: medianOrNull(runs.map((run) => run.summary.bridgeCpuMsPerRequest)),
    databaseCpuMsPerRequest: medianOrNull(runs.map((run) => run.summary.databaseCpuMsPerRequest)),
    machineCpuMsPerRequest: medianOrNull(runs.map((run) => run.summary.machineCpuMsPerRequest)),
    runs: runs.length,
  };
}

const whole = (value: number) => Math.round(value).toLocaleString("en-US");
const milliseconds = (value: number) => value.toFixed(2);
const cpu = (value: number | null) => (value === null ? "–" : value.toFixed(2));
const signed = (value: number) => `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(2)}`;
const percent = (value: number) => `${Math.round(value * 100)}%`;
const addedCpu = (gated: number | null, baseline: number | null) => (gated === null || baseline === null ? "–" : signed(gated - baseline));
const verdict = (met: boolean) => (met ? "met" : "**missed**");

function verifyMedian(figures: VerifyFigures[]) {
  return { perSecond: median(figures.map((figure) => figure.perSecond)), perCpuSecond: median(figures.map((figure) => figure.perCpuSecond)) };
}

function verifyRange(figures: VerifyFigures[]): string {
  const rates = figures.map((figure) => figure.perSecond);
  return `${whole(Math.min(...rates))}–${whole(Math.max(...rates))}`;
}

/** Renders the benchmark's section of docs/benchmarks.md. */
export function renderSection(input: ReportInput): string {
  const { measurements, options } = input;
  const lines: string[] = [
    input.sectionStart,
    "## Control-layer overhead: POST /api/chat against a baseline",
    "",
    "Three variants run side by side against one `next start` server of a build made for the benchmark:",
    "",
    "- **gated**: `POST /api/chat` as shipped, with an access-token cookie. Middleware verifies the token, the",
    "  handler verifies it again and loads the user and session, the gate reserves against the limits, the",
    "  model streams, then the call is settled and its usage row written. Each request starts a new chat.",
    "- **baseline**: the same request to a route that exists only in the benchmark's build",
    "  (`scripts/bench/baseline-route.ts`). It streams the same answer through the same provider code and",
    "  stores the same chat and messages, without middleware, token checks, limits or usage rows. The",
    "  difference between gated and baseline is the control layer.",
    "- **bare**: the baseline route without chat storage: the model's stream alone, for scale.",
    "",
    `The model is e2e/openai-server.ts in its own process, answering at once (about 20 chunks). Each run is a closed loop`,
    `of ${options.seconds} s at a fixed concurrency, after ${options.warmUpSeconds} s of warm-up per variant; requests draw in turn from ${whole(options.users)} signed-in users.`,
    `Each configuration ran ${options.rounds} times, the variants in a rotating order. The tables give the median of the`,
    "runs for each figure, and the lowest and highest throughput. Latency runs from sending the request to the end",
    "of the stream; first byte is the first byte of the response body (the response starts with the first piece of text).",
    "App CPU is the CPU time of the `next start` process and its children per request (from /proc), which depends less than the",
    "other figures on what else the machine runs; the bridge's is the same for the Upstash REST bridge. Database CPU is that of",
    "every PostgreSQL and Redis server process, and machine CPU is the busy time of all CPUs per request, whatever ran on them",
    "(the load generator, the model server and the kernel's loopback network included).",
  ];

  for (const phase of input.phases) {
    const storeRuns = measurements.filter((run) => run.store === phase.store && run.round >= 0);
    const concurrencies = [...new Set(storeRuns.map((run) => run.concurrency))].sort((a, b) => a - b);
    const aggregated = (variant: Variant, concurrency: number) =>
      aggregate(storeRuns.filter((run) => run.variant === variant && run.concurrency === concurrency));

    lines.push(
      "",
      `### ${input.storeNames[phase.store]} counters`,
      "",
      "| concurrency | variant | req/s | req/s range | p50 ms | p99 ms | first byte p50 ms | first byte p99 ms | app CPU ms/req | bridge CPU ms/req | database CPU ms/req | machine CPU ms/req | load average |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const concurrency of concurrencies) {
      for (const variant of ["gated", "baseline", "bare"] as const) {
        const figures = aggregated(variant, concurrency);
        lines.push(
          `| ${concurrency} | ${variant} | ${whole(figures.requestsPerSecond)} | ${whole(figures.minRequestsPerSecond)}–${whole(figures.maxRequestsPerSecond)} | ` +
            `${milliseconds(figures.latencyP50)} | ${milliseconds(figures.latencyP99)} | ${milliseconds(figures.firstByteP50)} | ` +
            `${milliseconds(figures.firstByteP99)} | ${cpu(figures.appCpuMsPerRequest)} | ${cpu(figures.bridgeCpuMsPerRequest)} | ` +
            `${cpu(figures.databaseCpuMsPerRequest)} | ${cpu(figures.machineCpuMsPerRequest)} | ${figures.loadAverage.toFixed(1)} |`,
        );
      }
    }

    lines.push(
      "",
      "| concurrency | gated ÷ baseline req/s | added p50 ms | added p99 ms | added first byte p50 ms | added app CPU ms/req | added machine CPU ms/req | gated ÷ bare req/s |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    const verdicts: string[] = [];
    for (const concurrency of concurrencies) {
      const gated = aggregated("gated", concurrency);
      const baseline = aggregated("baseline", concurrency);
      const bare = aggregated("bare", concurrency);
      const ratio = gated.requestsPerSecond / baseline.requestsPerSecond;
      const addedP50 = gated.latencyP50 - baseline.latencyP50;
      const addedP99 = gated.latencyP99 - baseline.latencyP99;
      lines.push(
        `| ${concurrency} | ${percent(ratio)} | ${signed(addedP50)} | ${signed(addedP99)} | ` +
          `${signed(gated.firstByteP50 - baseline.firstByteP50)} | ${addedCpu(gated.appCpuMsPerRequest, baseline.appCpuMsPerRequest)} | ` +
          `${addedCpu(gated.machineCpuMsPerRequest, baseline.machineCpuMsPerRequest)} | ${percent(gated.requestsPerSecond / bare.requestsPerSecond)} |`,
      );
      verdicts.push(`throughput at concurrency ${concurrency} ${percent(ratio)} of the baseline (target ≥ ${percent(TARGET_THROUGHPUT_RATIO)}): ${verdict(ratio >= TARGET_THROUGHPUT_RATIO)}`);
      if (concurrency === TARGET_CONCURRENCY) {
        verdicts.push(`added p50 at concurrency ${concurrency} ${signed(addedP50)} ms (target < ${TARGET_ADDED_P50_MS} ms): ${verdict(addedP50 < TARGET_ADDED_P50_MS)}`);
        verdicts.push(`added p99 at concurrency ${concurrency} ${signed(addedP99)} ms (target < ${TARGET_ADDED_P99_MS} ms): ${verdict(addedP99 < TARGET_ADDED_P99_MS)}`);
      }
    }
    lines.push("", "Targets:", "", ...verdicts.map((line) => `- ${line}`));

    if (concurrencies.length > 1) {
      const lowest = concurrencies[0]!;
      const highest = concurrencies.at(-1)!;
      const added = (concurrency: number) => aggregated("gated", concurrency).latencyP50 - aggregated("baseline", concurrency).latencyP50;
      const ratio = (concurrency: number) => aggregated("gated", concurrency).requestsPerSecond / aggregated("baseline", concurrency).requestsPerSecond;
      lines.push(
        "",
        `With concurrency, the added p50 goes from ${signed(added(lowest))} ms at ${lowest} to ${signed(added(highest))} ms at ${highest}, ` +
          `and gated throughput from ${percent(ratio(lowest))} to ${percent(ratio(highest))} of the baseline's.`,
      );
    }

    const scaling = measurements.filter((run) => run.store === phase.store && run.round < 0);
    if (scaling.length > 0) {
      lines.push(
        "",
        `Gated, by number of users (concurrency ${scaling[0]!.concurrency}, one run each):`,
        "",
        "| users | req/s | p50 ms | p99 ms | first byte p50 ms | app CPU ms/req | database CPU ms/req | load average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ...scaling.map(
          ({ users, summary }) =>
            `| ${whole(users)} | ${whole(summary.requestsPerSecond)} | ${milliseconds(summary.latencyP50)} | ${milliseconds(summary.latencyP99)} | ` +
            `${milliseconds(summary.firstByteP50)} | ${cpu(summary.appCpuMsPerRequest)} | ${cpu(summary.databaseCpuMsPerRequest)} | ${summary.loadAverage.toFixed(1)} |`,
        ),
      );
    }
  }

  const verifyFirstSight = verifyMedian(input.verify.firstSight);
  const verifySeenBefore = verifyMedian(input.verify.seenBefore);
  const verifyJose = verifyMedian(input.verify.joseWithImportedKey);
  lines.push(
    "",
    "### Access-token verification",
    "",
    `\`scripts/bench/verify-tokens.ts\`${input.verifyPinned ? ", pinned to one CPU with `taskset -c 0`" : " (not pinned: taskset was not found)"}, verifies`,
    "access tokens one at a time, as middleware does. `verifyAccessToken` keeps the tokens that passed, so it is timed",
    "twice. First on 20,000 tokens the process has never seen, as on a session's first request to an instance (full",
    "signature check). Then on 1,000 tokens verified over and over, as on a session's later requests (a lookup).",
    "Per CPU second counts the CPU time of the process, WebCrypto's worker threads included.",
    "",
    "| verifier | tokens/s (median) | range over rounds | tokens per CPU second |",
    "| --- | --- | --- | --- |",
    `| \`verifyAccessToken\` (lib/auth/tokens.ts), first sight of each token | ${whole(verifyFirstSight.perSecond)} | ${verifyRange(input.verify.firstSight)} | ${whole(verifyFirstSight.perCpuSecond)} |`,
    `| \`verifyAccessToken\`, tokens seen before | ${whole(verifySeenBefore.perSecond)} | ${verifyRange(input.verify.seenBefore)} | ${whole(verifySeenBefore.perCpuSecond)} |`,
    `| jose \`jwtVerify\` with a CryptoKey imported once | ${whole(verifyJose.perSecond)} | ${verifyRange(input.verify.joseWithImportedKey)} | ${whole(verifyJose.perCpuSecond)} |`,
    "",
    `- Target ≥ ${whole(TARGET_VERIFICATIONS_PER_SECOND)} tokens/s on one core, tokens seen before: ${verdict(verifySeenBefore.perSecond >= TARGET_VERIFICATIONS_PER_SECOND)}`,
    `- Target ≥ ${whole(TARGET_VERIFICATIONS_PER_SECOND)} tokens/s on one core, first sight of each token: ${verdict(verifyFirstSight.perSecond >= TARGET_VERIFICATIONS_PER_SECOND)}`,
  );

  const loadAverages = measurements.map((run) => run.summary.loadAverage);
  const cpus = os.cpus();
  lines.push(
    "",
    "### Run",
    "",
    `- Run: ${input.startedAt.toISOString()}, \`${input.command}\``,
    `- Machine: ${os.availableParallelism()} CPUs (\`nproc\`), ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`,
    `- One-minute load average before each run: ${Math.min(...loadAverages).toFixed(1)} to ${Math.max(...loadAverages).toFixed(1)}. The load generator, the`,
    "  model server, the app, PostgreSQL, Redis and the bridge all share these CPUs.",
    ...input.phases.map((phase) => `- ${input.storeNames[phase.store]}: ${phase.detail}`),
    input.sectionEnd,
  );
  return lines.join("\n");
}
