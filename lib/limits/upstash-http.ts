import http from "node:http";
import https from "node:https";
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";

/**
 * Sends the Upstash client's commands to its REST API with node:http and a keep-alive agent
 * instead of the global fetch. In a Next.js route handler the global fetch is Next.js's own
 * wrapper (tracing and its data cache), which a command that is never cached does not need, and
 * which cost more CPU than the command (see docs/benchmarks.md).
 *
 * It keeps what the client's own transport does for the store. Bodies are JSON, and a thrown
 * error carries Upstash's error text, which the client reads to retry a script with EVAL after
 * NOSCRIPT. A network error is retried once, within one deadline for both attempts. The sync
 * token gives read-your-writes across replicas. Replies are plain JSON, not base64.
 */
export function createUpstashHttpRequester(options: { url: string; token: string; timeoutMs: number; retryDelayMs: number }): Requester {
  const baseUrl = new URL(options.url);
  const transport = baseUrl.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  let syncToken = "";

  function send(path: string, body: string, deadline: number): Promise<{ status: number; text: string; syncToken: string | null }> {
    return new Promise((resolve, reject) => {
      const request = transport.request(
        new URL(path, baseUrl),
        {
          method: "POST",
          agent,
          headers: {
            authorization: `Bearer ${options.token}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
            "upstash-sync-token": syncToken,
          },
        },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => {
            const header = response.headers["upstash-sync-token"];
            resolve({ status: response.statusCode ?? 0, text, syncToken: typeof header === "string" ? header : null });
          });
          response.on("error", reject);
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`Upstash timed out after ${options.timeoutMs} ms.`)), Math.max(1, deadline - Date.now()));
      // The request closes after its response ends or after an error, whichever comes first.
      request.on("close", () => clearTimeout(timer));
      request.on("error", reject);
      request.end(body);
    });
  }

  return {
    readYourWrites: true,
    async request<Result>(input: UpstashRequest): Promise<UpstashResponse<Result>> {
      const path = `${baseUrl.pathname.replace(/\/$/, "")}/${(input.path ?? []).join("/")}`;
      const body = JSON.stringify(input.body);
      const deadline = Date.now() + options.timeoutMs;

      let reply;
      try {
        reply = await send(path, body, deadline);
      } catch (error) {
        if (Date.now() + options.retryDelayMs >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs));
        reply = await send(path, body, deadline);
      }
      if (reply.syncToken !== null) syncToken = reply.syncToken;

      let parsed: UpstashResponse<Result>;
      try {
        parsed = JSON.parse(reply.text) as UpstashResponse<Result>;
      } catch {
        throw new Error(`Upstash returned ${reply.status} with a body that is not JSON: ${reply.text.slice(0, 200)}`);
      }
      if (reply.status < 200 || reply.status >= 300 || parsed.error !== undefined) {
        throw new Error(`Upstash rejected the command with ${reply.status}: ${parsed.error ?? reply.text.slice(0, 200)}`);
      }
      return parsed;
    },
  };
}
