/**
 * An HTTP server that speaks the Upstash Redis REST protocol in front of a real Redis, so that
 * the unmodified `@upstash/redis` client can run in tests against the local Redis.
 *
 * It implements what that client sends (protocol as documented on Upstash's REST API page):
 *   POST /             one command as a JSON array, e.g. ["SET", "k", "v"]; 200 {"result": ...}
 *                      or 400 {"error": "..."} when Redis returns an error
 *   POST /pipeline     a JSON array of commands; 200 with one {"result"} or {"error"} per command
 *   POST /multi-exec   the same, run as one MULTI/EXEC transaction; 400 {"error"} when Redis
 *                      discards the transaction
 * Every request needs `Authorization: Bearer <token>` (or `?_token=<token>`), else 401. With
 * `Upstash-Encoding: base64`, every string in a result except "OK" is base64-encoded.
 * Commands in the URL path (`/set/k/v`) and the `resp2` response format are not implemented;
 * they get 400.
 *
 * As a script: `npx tsx tests/upstash-bridge.ts --port 8079 --token TOKEN [--redis-url URL]`
 * serves until SIGINT or SIGTERM. It binds 127.0.0.1 only.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import Redis, { ReplyError, type ChainableCommander } from "ioredis";

const HOST = "127.0.0.1";
const MAX_BODY_BYTES = 1024 * 1024;
// Recent command names kept for tests that check what the client sent; older ones are dropped.
const MAX_RECORDED_COMMANDS = 1_000;

type Command = [string, ...string[]];

export type UpstashBridge = {
  /** Value for UPSTASH_REDIS_REST_URL, e.g. `http://127.0.0.1:8079`. */
  readonly url: string;
  readonly port: number;
  /** Value for UPSTASH_REDIS_REST_TOKEN. */
  readonly token: string;
  /** Upper-cased names of the most recent commands received, oldest first. */
  readonly commandNames: string[];
  /** Stops listening, closes open connections and disconnects from Redis. */
  close(): Promise<void>;
};

class BadRequestError extends Error {}

class BodyTooLargeError extends Error {}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function isAuthorised(req: IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length) : (url.searchParams.get("_token") ?? "");
  const expected = Buffer.from(token);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Validates one command: a non-empty array whose first element is the command name. */
function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] !== "string" || value[0] === "") {
    throw new BadRequestError("ERR a command must be a JSON array that starts with the command name");
  }
  const args = value.map((argument: unknown) => {
    if (typeof argument === "string") return argument;
    if (typeof argument === "number" || typeof argument === "boolean") return String(argument);
    return JSON.stringify(argument);
  });
  return args as Command;
}

function toCommandList(value: unknown): Command[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequestError("ERR the body must be a JSON array of commands, each a JSON array");
  }
  return value.map(toCommand);
}

/** Converts a Redis reply to its JSON form: bulk and status strings as text, or base64 when asked. */
function toJsonReply(reply: unknown, base64: boolean): unknown {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((element) => toJsonReply(element, base64));
  // An error nested in an array, which a Lua script can return, becomes its message.
  if (reply instanceof Error) return reply.message;
  const bytes = Buffer.isBuffer(reply) ? reply : Buffer.from(String(reply));
  const text = bytes.toString("utf8");
  return base64 && text !== "OK" ? bytes.toString("base64") : text;
}

function toItem([error, reply]: [Error | null, unknown], base64: boolean) {
  return error ? { error: error.message } : { result: toJsonReply(reply, base64) };
}

/**
 * Starts the bridge on 127.0.0.1 in front of the Redis at `redisUrl`. Port 0 (the default)
 * picks a free port. Rejects when Redis cannot be reached or the port is taken.
 */
export async function startUpstashBridge(options: { redisUrl: string; token: string; port?: number }): Promise<UpstashBridge> {
  if (options.token === "") throw new Error("The bridge needs a non-empty token.");
  // No offline queue: while Redis is down, commands fail at once instead of waiting.
  const redis = new Redis(options.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on("error", () => {
    // Connection errors reach the callers of each command; this listener keeps them from
    // also being reported as unhandled.
  });
  await redis.connect();

  const commandNames: string[] = [];
  function record(commands: Command[]) {
    commandNames.push(...commands.map(([name]) => name.toUpperCase()));
    if (commandNames.length > MAX_RECORDED_COMMANDS) commandNames.splice(0, commandNames.length - MAX_RECORDED_COMMANDS);
  }

  function queue(batch: ChainableCommander, commands: Command[]): ChainableCommander {
    for (const [name, ...args] of commands) batch.callBuffer(name, ...args);
    return batch;
  }

  async function runSingle(command: Command, base64: boolean, res: ServerResponse) {
    const [name, ...args] = command;
    let reply;
    try {
      reply = await redis.callBuffer(name, ...args);
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      sendJson(res, 400, { error: (error as Error).message });
      return;
    }
    sendJson(res, 200, { result: toJsonReply(reply, base64) });
  }

  async function runPipeline(commands: Command[], base64: boolean, res: ServerResponse) {
    const results = (await queue(redis.pipeline(), commands).exec()) ?? [];
    sendJson(res, 200, results.map((result) => toItem(result, base64)));
  }

  async function runTransaction(commands: Command[], base64: boolean, res: ServerResponse) {
    let results;
    try {
      results = (await queue(redis.multi(), commands).exec()) ?? [];
    } catch (error) {
      if (!(error instanceof ReplyError)) throw error;
      // EXECABORT: Redis discarded the whole transaction because a command was rejected.
      sendJson(res, 400, { error: (error as Error).message });
      return;
    }
    sendJson(res, 200, results.map((result) => toItem(result, base64)));
  }

  async function route(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", `http://${HOST}`);
    if (!isAuthorised(req, url, options.token)) {
      sendJson(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: `Method ${req.method} is not allowed: send commands with POST.` });
      return;
    }
    if ((req.headers["upstash-response-format"] ?? "json") !== "json") {
      sendJson(res, 400, { error: "This bridge returns JSON only; the resp2 response format is not implemented." });
      return;
    }

    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      if (error instanceof BodyTooLargeError) throw error;
      throw new BadRequestError("ERR the request body is not valid JSON");
    }

    const path = url.pathname.replace(/\/+$/, "");
    if (path === "") {
      const command = toCommand(body);
      record([command]);
      await runSingle(command, base64, res);
    } else if (path === "/pipeline" || path === "/multi-exec") {
      const commands = toCommandList(body);
      record(commands);
      await (path === "/pipeline" ? runPipeline : runTransaction)(commands, base64, res);
    } else {
      sendJson(res, 400, { error: `Unknown path ${url.pathname}: this bridge implements POST /, /pipeline and /multi-exec.` });
    }
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof BadRequestError) sendJson(res, 400, { error: error.message });
      else if (error instanceof BodyTooLargeError) sendJson(res, 413, { error: error.message });
      else sendJson(res, 500, { error: `The bridge failed to reach Redis: ${(error as Error).message}` });
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, HOST, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${HOST}:${port}`,
    port,
    token: options.token,
    commandNames,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => redis.disconnect());
      return closing;
    },
  };
}

const USAGE = `Usage: npx tsx tests/upstash-bridge.ts --port PORT --token TOKEN [--redis-url URL]

Serves the Upstash Redis REST protocol on 127.0.0.1 in front of a Redis server.
  --port PORT       TCP port to listen on, 0 to 65535 (0 picks a free port)
  --token TOKEN     bearer token that clients must send (UPSTASH_REDIS_REST_TOKEN)
  --redis-url URL   Redis to forward to (default: TEST_REDIS_URL)`;

async function runCli(args: string[]): Promise<void> {
  let options: { port: number; token: string; redisUrl: string };
  try {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: "string" },
        token: { type: "string" },
        "redis-url": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help === true) {
      console.log(USAGE);
      return;
    }
    const port = Number(values.port);
    if (values.port === undefined || !/^\d+$/.test(values.port) || port > 65_535) {
      throw new Error(`Invalid --port ${JSON.stringify(values.port ?? "")}: expected an integer from 0 to 65535.`);
    }
    if (!values.token) throw new Error("Missing --token: clients must present it as their bearer token.");
    const redisUrl = values["redis-url"] ?? process.env.TEST_REDIS_URL;
    if (!redisUrl) throw new Error("Missing --redis-url, and TEST_REDIS_URL is not set.");
    options = { port, token: values.token, redisUrl };
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  const bridge = await startUpstashBridge(options);
  console.log(`Upstash REST bridge listening on ${bridge.url}`);
  const stop = (signal: NodeJS.Signals) => {
    console.error(`upstash-bridge: received ${signal}, closing`);
    bridge.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

// The file is both a module and a script. The check reads argv because import.meta may be unavailable.
if (/(^|[\\/])upstash-bridge\.[cm]?[jt]s$/.test(process.argv[1] ?? "")) {
  runCli(process.argv.slice(2)).catch((error: unknown) => {
    console.error("upstash-bridge: failed to start:", error);
    process.exit(1);
  });
}
