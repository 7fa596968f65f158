import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "@/tests/upstash-bridge";

let bridge: UpstashBridge;
const prefix = `test-bridge-${randomBytes(6).toString("hex")}`;

beforeAll(async () => {
  bridge = await startUpstashBridge({ redisUrl: process.env.TEST_REDIS_URL!, token: "bridge-test-token" });
});

afterAll(() => bridge.close());

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

function key(name: string) {
  return `${prefix}:${name}`;
}

describe("upstash bridge protocol", () => {
  it("runs one command and returns its result", async () => {
    const set = await post("/", ["SET", key("greeting"), "hello", "EX", 60]);
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", key("greeting")])).json()).toEqual({ result: "hello" });
    expect(await (await post("/", ["GET", key("missing")])).json()).toEqual({ result: null });
    expect(await (await post("/", ["INCRBY", key("count"), 5])).json()).toEqual({ result: 5 });
    await post("/", ["DEL", key("count")]);
  });

  it("encodes every string but OK in base64 when asked", async () => {
    const base64 = { "upstash-encoding": "base64" };
    expect(await (await post("/", ["SET", key("text"), "héllo 👋", "EX", 60], base64)).json()).toEqual({ result: "OK" });
    expect(await (await post("/", ["GET", key("text")], base64)).json()).toEqual({ result: Buffer.from("héllo 👋").toString("base64") });
    const list = await (await post("/", ["MGET", key("text"), key("missing")], base64)).json();
    expect(list).toEqual({ result: [Buffer.from("héllo 👋").toString("base64"), null] });
  });

  it("returns a command's error with 400", async () => {
    const response = await post("/", ["NOSUCHCOMMAND"]);
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatch(/unknown command/);
  });

  it("answers a pipeline with one result or error per command", async () => {
    const response = await post("/pipeline", [
      ["SET", key("pipelined"), "x", "EX", 60],
      ["INCR", key("pipelined")],
      ["GET", key("pipelined")],
    ]);
    expect(response.status).toBe(200);
    const [set, incr, get] = await response.json();
    expect(set).toEqual({ result: "OK" });
    expect(incr.error).toMatch(/not an integer/);
    expect(get).toEqual({ result: "x" });
  });

  it("runs a transaction atomically and reports a discarded one with 400", async () => {
    const response = await post("/multi-exec", [
      ["SET", key("counter"), 1, "EX", 60],
      ["INCR", key("counter")],
    ]);
    expect(await response.json()).toEqual([{ result: "OK" }, { result: 2 }]);

    const discarded = await post("/multi-exec", [["INCR", key("counter")], ["NOSUCHCOMMAND"]]);
    expect(discarded.status).toBe(400);
    expect((await discarded.json()).error).toMatch(/EXECABORT/);
    expect(await (await post("/", ["GET", key("counter")])).json()).toEqual({ result: "2" });
  });

  it.each([
    ["no token", {}],
    ["a wrong token", { authorization: "Bearer not-the-token" }],
  ])("rejects a request with %s", async (_case, headers) => {
    const response = await fetch(`${bridge.url}/`, { method: "POST", headers, body: JSON.stringify(["PING"]) });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: "Unauthorized" });
  });

  it("accepts the token as a query parameter", async () => {
    const response = await fetch(`${bridge.url}/?_token=${bridge.token}`, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(await response.json()).toEqual({ result: "PONG" });
  });

  it.each([
    ["a body that is not JSON", "/", "{", 400],
    ["a command that is not an array", "/", '{"command":"PING"}', 400],
    ["an empty pipeline", "/pipeline", "[]", 400],
    ["a command in the path", "/get/key", '["x"]', 400],
  ])("rejects %s", async (_case, path, body, status) => {
    const response = await fetch(`${bridge.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${bridge.token}` }, body });
    expect(response.status).toBe(status);
    expect((await response.json()).error).toEqual(expect.any(String));
  });

  it("rejects methods other than POST", async () => {
    const response = await fetch(`${bridge.url}/`, { headers: { authorization: `Bearer ${bridge.token}` } });
    expect(response.status).toBe(405);
  });
});

describe("@upstash/redis through the bridge", () => {
  const redis = () => new Redis({ url: bridge.url, token: bridge.token, enableTelemetry: false });

  it("sets and reads values, in pipelines and transactions too", async () => {
    const client = redis();
    await client.set(key("client"), { nested: ["json", 1] }, { ex: 60 });
    expect(await client.get(key("client"))).toEqual({ nested: ["json", 1] });

    const pipeline = client.pipeline();
    pipeline.incr(key("client-count"));
    pipeline.incr(key("client-count"));
    pipeline.expire(key("client-count"), 60);
    expect(await pipeline.exec()).toEqual([1, 2, 1]);

    const transaction = client.multi();
    transaction.incrby(key("client-count"), 10);
    transaction.get(key("client-count"));
    expect(await transaction.exec()).toEqual([12, 12]);
  });

  it("runs a script with EVALSHA, falling back to EVAL the first time", async () => {
    const client = redis();
    const source = `return redis.call('INCRBY', KEYS[1], ARGV[1]) -- ${randomBytes(8).toString("hex")}`;
    const script = client.createScript<number>(source);
    const before = bridge.commandNames.length;

    expect(await script.exec([key("scripted")], ["3"])).toBe(3);
    expect(await script.exec([key("scripted")], ["4"])).toBe(7);
    expect(bridge.commandNames.slice(before)).toEqual(["EVALSHA", "EVAL", "EVALSHA"]);
    await client.del(key("scripted"));
  });
});
