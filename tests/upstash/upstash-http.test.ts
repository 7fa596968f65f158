import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import IORedis from "ioredis";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { createUpstashHttpRequester } from "@/lib/limits/upstash-http";
import { createUpstashStore } from "@/lib/limits/upstash-store";
import { randomKeyPrefix } from "@/tests/limits-helpers";
import { startUpstashBridge, type UpstashBridge } from "@/tests/upstash-bridge";

const redisUrl = process.env.TEST_REDIS_URL!;
const token = randomBytes(24).toString("base64url");

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, index: number) => void;

/** Starts an HTTP server on 127.0.0.1 that handles the n-th request with `handle`, and records each request's headers. */
async function startServer(handle: Handler) {
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    headers.push(request.headers);
    request.resume();
    request.on("end", () => handle(request, response, headers.length - 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    headers,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function requester(url: string, timeoutMs = 1_000) {
  return createUpstashHttpRequester({ url, token, timeoutMs, retryDelayMs: 10 });
}

describe("upstash http requester", () => {
  it("returns the result and sends the sync token back", async () => {
    const server = await startServer((_request, response, index) => {
      response.setHeader("upstash-sync-token", `sync-${index}`);
      response.end(JSON.stringify({ result: index }));
    });
    try {
      const send = requester(server.url);
      expect(await send.request({ body: ["PING"] })).toEqual({ result: 0 });
      expect(await send.request({ body: ["PING"] })).toEqual({ result: 1 });
      expect(server.headers[0]!.authorization).toBe(`Bearer ${token}`);
      expect(server.headers[1]!["upstash-sync-token"]).toBe("sync-0");
    } finally {
      await server.close();
    }
  });

  it("throws the error text Upstash sends", async () => {
    const server = await startServer((_request, response) => {
      response.statusCode = 400;
      response.end(JSON.stringify({ error: "NOSCRIPT No matching script" }));
    });
    try {
      await expect(requester(server.url).request({ body: ["EVALSHA", "abc", "0"] })).rejects.toThrow(/400: NOSCRIPT No matching script/);
    } finally {
      await server.close();
    }
  });

  it("retries once after a dropped connection", async () => {
    const server = await startServer((request, response, index) => {
      if (index === 0) request.socket.destroy();
      else response.end(JSON.stringify({ result: "PONG" }));
    });
    try {
      expect(await requester(server.url).request({ body: ["PING"] })).toEqual({ result: "PONG" });
      expect(server.headers).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it("gives up at the time limit", async () => {
    const server = await startServer(() => {});
    try {
      const startedAt = Date.now();
      await expect(requester(server.url, 300).request({ body: ["PING"] })).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - startedAt).toBeLessThan(1_000);
    } finally {
      await server.close();
    }
  });
});

describe("upstash client over the http requester", () => {
  let bridge: UpstashBridge;
  let redis: IORedis;

  beforeAll(async () => {
    bridge = await startUpstashBridge({ redisUrl, token });
    redis = new IORedis(redisUrl);
  });

  afterAll(async () => {
    await bridge.close();
    redis.disconnect();
  });

  it("a script runs again after SCRIPT FLUSH", async () => {
    const store = createUpstashStore({ url: bridge.url, token, keyPrefix: randomKeyPrefix() });
    const reserve = () =>
      store.reserve({ userId: randomUUID(), limits: DEFAULT_PLANS.enterprise, promptTokens: 10, maxOutputTokens: 100, minOutputTokens: 16, now: new Date() });

    expect(await reserve()).toMatchObject({ admitted: true });
    await redis.script("FLUSH");
    expect(await reserve()).toMatchObject({ admitted: true });
  });

  it("plain commands keep their replies", async () => {
    const client = new Redis(requester(bridge.url));
    const key = `${randomKeyPrefix()}:plain`;
    await client.hset(key, { spent: 12, rejected: 1 });

    expect(await client.hmget(key, "spent", "rejected")).toEqual({ spent: 12, rejected: 1 });
    expect(await client.hmget(`${key}:missing`, "spent")).toBeNull();
    await client.del(key);
  });
});
