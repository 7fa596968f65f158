/**
 * Counts the database round trips of one `POST /api/chat`. The app connects to PostgreSQL
 * through a small TCP relay on 127.0.0.1 that reads the client's side of the wire protocol. Every
 * Sync (the end of an extended-protocol query) and every simple Query is one round trip. The
 * relay prints each round trip with the statements sent in it, so a change to the hot path
 * shows up as a line that appears or goes away.
 *
 *   npx tsx scripts/bench/round-trips.ts [--requests 5]
 *
 * The route handler runs in this process, as the integration tests call it, against the local
 * OpenAI-compatible server (e2e/openai-server.ts). TEST_DATABASE_URL names the PostgreSQL
 * server (default postgres://postgres@127.0.0.1:5432/postgres), on which the script creates a
 * database of its own and drops it at the end. Counters are in PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import { createServer, connect, type Server, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { createDatabase, loopbackUrl } from "@/scripts/bench/database";

type RoundTrip = { connection: number; statements: string[] };

const SSL_REQUEST_CODE = 80877103;

/**
 * Reads frontend messages from one client connection. The first message has no type byte (the
 * startup message, or an SSL request, which the server replies to with one byte before the startup message).
 */
class FrontendReader {
  private buffer = Buffer.alloc(0);
  private startupDone = false;
  private readonly statementsByName = new Map<string, string>();
  private pending: string[] = [];

  constructor(
    private readonly connection: number,
    private readonly onRoundTrip: (roundTrip: RoundTrip) => void,
  ) {}

  push(chunk: Buffer) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.startupDone) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        if (code !== SSL_REQUEST_CODE) this.startupDone = true;
        continue;
      }
      if (this.buffer.length < 5) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      this.handle(type, this.buffer.subarray(5, 1 + length));
      this.buffer = this.buffer.subarray(1 + length);
    }
  }

  private handle(type: string, body: Buffer) {
    if (type === "P") {
      const [name, text] = readStrings(body, 2);
      this.statementsByName.set(name!, text!);
      if (name === "") this.pending.push(text!);
    } else if (type === "B") {
      const [, name] = readStrings(body, 2);
      if (name !== "") this.pending.push(this.statementsByName.get(name!) ?? `(prepared ${name})`);
    } else if (type === "Q") {
      this.onRoundTrip({ connection: this.connection, statements: [readStrings(body, 1)[0]!] });
    } else if (type === "S") {
      this.onRoundTrip({ connection: this.connection, statements: this.pending });
      this.pending = [];
    }
  }
}

function readStrings(body: Buffer, count: number): string[] {
  const strings: string[] = [];
  let offset = 0;
  for (let index = 0; index < count; index++) {
    const end = body.indexOf(0, offset);
    strings.push(body.toString("utf8", offset, end));
    offset = end + 1;
  }
  return strings;
}

function startRelay(target: { host: string; port: number }, onRoundTrip: (roundTrip: RoundTrip) => void): Promise<Server> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const reader = new FrontendReader(++connections, onRoundTrip);
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => {
      reader.push(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  });
  server.on("close", () => sockets.forEach((socket) => socket.destroy()));
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function describeStatement(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 110);
}

async function main() {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "5" } } });
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`Invalid --requests ${values.requests}: expected a positive whole number.`);
  const adminUrl = loopbackUrl(process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres", "TEST_DATABASE_URL");
  const database = await createDatabase(adminUrl, "tollgate_round_trips");

  let recording: RoundTrip[] | null = null;
  const relay = await startRelay({ host: database.url.hostname, port: Number(database.url.port || 5432) }, (roundTrip) => recording?.push(roundTrip));
  const relayUrl = new URL(database.url);
  relayUrl.hostname = "127.0.0.1";
  relayUrl.port = String((relay.address() as { port: number }).port);

  const { startOpenAIServer } = await import("@/e2e/openai-server");
  const modelServer = await startOpenAIServer();
  // The configuration is read on first use, so it is set before the app's modules run.
  process.env.DATABASE_URL = relayUrl.toString();
  process.env.JWT_ACCESS_SECRET = randomBytes(48).toString("base64url");
  process.env.JWT_REFRESH_SECRET = randomBytes(48).toString("base64url");
  process.env.OPENAI_API_KEY = "sk-round-trips-local";
  process.env.OPENAI_BASE_URL = modelServer.url;
  process.env.APP_URL = "http://localhost:3000";
  process.env.LOG_LEVEL = "silent";
  process.env.PLAN_LIMITS = JSON.stringify({ free: { tokensPerDay: 1_000_000_000_000, requestsPerDay: 1_000_000_000, requestsPerMinute: 1_000_000_000 } });

  const { closeDb, getDb } = await import("@/lib/db/client");
  const { POST: chat } = await import("@/app/api/chat/route");
  const { insertBenchUsers, signCookies } = await import("@/scripts/bench/users");

  try {
    const users = await insertBenchUsers(await getDb(), requests + 1);
    const cookies = await signCookies(users);
    const send = async (cookie: string) => {
      const request = new Request("http://localhost:3000/api/chat", {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ message: "Explain in one paragraph what a token budget is." }),
      });
      const response = await chat(request, { params: Promise.resolve({}) } as never);
      if (response.status !== 200) throw new Error(`POST /api/chat returned ${response.status}: ${await response.text()}`);
      await response.text();
    };

    // The first request opens the pool's connections and prepares statements, so it is not counted.
    await send(cookies[0]!);
    const counts: number[] = [];
    for (let index = 1; index <= requests; index++) {
      recording = [];
      await send(cookies[index]!);
      const recorded = recording;
      recording = null;
      counts.push(recorded.length);
      if (index === 1) {
        console.log(`Round trips of one POST /api/chat (a new chat, PostgreSQL counters): ${recorded.length}`);
        for (const roundTrip of recorded) {
          const statements = roundTrip.statements.length > 0 ? roundTrip.statements.map(describeStatement).join(" ; ") : "(sync only)";
          console.log(`  [connection ${roundTrip.connection}] ${statements}`);
        }
      }
    }
    console.log(`Round trips per request over ${requests} requests: ${counts.join(", ")}`);
  } finally {
    await closeDb();
    await modelServer.close();
    await new Promise((resolve) => relay.close(resolve));
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error("round-trips failed:", error);
  process.exit(1);
});
