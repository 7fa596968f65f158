import http from "node:http";

/** One request of a load run: its headers and JSON body. */
export type LoadRequest = { headers: Record<string, string>; body: string };

export type LoadOptions = {
  /** Loopback URL to POST to. */
  url: URL;
  concurrency: number;
  /** The run stops starting requests after this long. */
  durationMs: number;
  /** The run never starts more requests than this, however fast they complete. */
  maxRequests: number;
  /** A request that has not completed after this long counts as failed. */
  requestTimeoutMs: number;
  /** Builds the n-th request of the run. */
  buildRequest: (index: number) => LoadRequest;
};

/** Latencies of the successful requests of one run, in milliseconds. */
export type LoadResult = {
  completed: number;
  failed: number;
  /** The first few failures, as messages, for the console. */
  failures: string[];
  elapsedMs: number;
  /** From sending the request to the end of the response body. */
  latencies: number[];
  /** From sending the request to the first byte of the response body. */
  firstByteTimes: number[];
};

const MAX_FAILURES_KEPT = 5;
// A chat stream that succeeded ends with this event; an error event or a cut stream does not.
const DONE_EVENT = '"type":"done"';

type Timing = { latency: number; firstByte: number };

function sendOne(agent: http.Agent, options: LoadOptions, request: LoadRequest): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    let firstByteAt = 0;
    let tail = "";
    const outgoing = http.request(
      options.url,
      {
        method: "POST",
        agent,
        headers: { ...request.headers, "content-type": "application/json", "content-length": Buffer.byteLength(request.body) },
        timeout: options.requestTimeoutMs,
      },
      (response) => {
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          if (firstByteAt === 0) firstByteAt = performance.now();
          // Only the end of the body is kept: the done event is the last one.
          tail = (tail + chunk).slice(-2_000);
        });
        response.on("end", () => {
          const endedAt = performance.now();
          if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}: ${tail.slice(0, 300)}`));
          else if (!tail.includes(DONE_EVENT)) reject(new Error(`stream ended without a done event: ${tail.slice(-300)}`));
          else resolve({ latency: endedAt - startedAt, firstByte: (firstByteAt || endedAt) - startedAt });
        });
        response.on("error", reject);
      },
    );
    outgoing.on("timeout", () => outgoing.destroy(new Error(`timed out after ${options.requestTimeoutMs} ms`)));
    outgoing.on("error", reject);
    outgoing.end(request.body);
  });
}

/**
 * Sends POST requests with a fixed number in flight (a closed loop: each worker sends its next
 * request when the previous one has ended) until the duration or the request count runs out.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!["127.0.0.1", "localhost", "[::1]"].includes(options.url.hostname)) {
    throw new Error(`Refusing to send load to ${options.url.host}: the benchmark only targets servers it started on 127.0.0.1.`);
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { completed: 0, failed: 0, failures: [], elapsedMs: 0, latencies: [], firstByteTimes: [] };
  let started = 0;
  const startedAt = performance.now();
  const endsAt = startedAt + options.durationMs;

  async function worker() {
    while (performance.now() < endsAt && started < options.maxRequests) {
      const request = options.buildRequest(started++);
      try {
        const timing = await sendOne(agent, options, request);
        result.completed += 1;
        result.latencies.push(timing.latency);
        result.firstByteTimes.push(timing.firstByte);
      } catch (error) {
        result.failed += 1;
        if (result.failures.length < MAX_FAILURES_KEPT) result.failures.push((error as Error).message);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  result.elapsedMs = performance.now() - startedAt;
  return result;
}

/** Returns the value below which `share` of the sorted values fall (nearest rank). */
export function percentile(sorted: number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!;
}

export type LoadSummary = {
  requestsPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  firstByteP50: number;
  firstByteP99: number;
  completed: number;
  failed: number;
};

export function summarise(result: LoadResult): LoadSummary {
  const latencies = [...result.latencies].sort((a, b) => a - b);
  const firstByteTimes = [...result.firstByteTimes].sort((a, b) => a - b);
  return {
    requestsPerSecond: result.completed / (result.elapsedMs / 1000),
    latencyP50: percentile(latencies, 0.5),
    latencyP99: percentile(latencies, 0.99),
    firstByteP50: percentile(firstByteTimes, 0.5),
    firstByteP99: percentile(firstByteTimes, 0.99),
    completed: result.completed,
    failed: result.failed,
  };
}
