import { randomUUID } from "node:crypto";
import { createServer, Socket, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { getDb, queryRows, sql, type Database } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { admitRequest } from "@/lib/limits/gate";
import { DEFAULT_PLANS } from "@/lib/limits/plans";
import { createPostgresStore } from "@/lib/limits/postgres-store";
import type { CounterStore } from "@/lib/limits/store";
import { logger } from "@/lib/log";
import { configureTestEnvironment } from "@/tests/helpers";

beforeAll(() => configureTestEnvironment());

afterEach(() => vi.restoreAllMocks());

const limits = { ...DEFAULT_PLANS.enterprise, requestsPerMinute: 1_000, requestsPerDay: 1_000 };
const request = { limits, promptTokens: 10, model: "gpt-4o-mini", feature: "test", requestId: "req_test", spendCapMicros: null };

function admit(store: CounterStore) {
  return admitRequest({ ...request, userId: randomUUID(), store }).catch((error: unknown) => error);
}

/** Starts a TCP proxy on 127.0.0.1 in front of the test database, which a test can stop and start again. */
async function startProxy(target: { host: string; port: number }, port = 0): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("postgres counter store outages", () => {
  it("fails closed when the database cannot be reached", async () => {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    // Nothing listens on port 1 of the loopback address, so every query fails to connect.
    const client = postgres("postgres://nobody@127.0.0.1:1/none", { connect_timeout: 2, max: 1 });
    const unreachable = createPostgresStore(async () => drizzle(client) as unknown as Database);

    const error = await admit(unreachable);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("LIMITS_UNAVAILABLE");
    expect((error as ApiError).status).toBe(503);
    await client.end();
  });

  it("logs an outage once, then its end", async () => {
    // An admission ends any outage that an earlier test left open.
    await admit(createPostgresStore(getDb));
    const errors = vi.spyOn(logger, "error");
    const infos = vi.spyOn(logger, "info");
    let down = true;
    const store = createPostgresStore(async () => {
      if (down) throw new Error("connect ECONNREFUSED 127.0.0.1:5432");
      return getDb();
    });

    for (let attempt = 0; attempt < 3; attempt++) expect((await admit(store)) as ApiError).toMatchObject({ code: "LIMITS_UNAVAILABLE" });
    down = false;
    expect(await admit(store)).toMatchObject({ outputCap: expect.any(Number) });

    const outageErrors = errors.mock.calls.filter(([message]) => message.startsWith("counter store"));
    expect(outageErrors).toHaveLength(1);
    expect(outageErrors[0]![1]).toMatchObject({ requestId: "req_test", feature: "test" });
    const recovery = infos.mock.calls.find(([message]) => message.startsWith("counter store reachable again"));
    expect(recovery?.[1]).toMatchObject({ failuresNotLogged: 2 });
  });

  it.skipIf(!process.env.DATABASE_URL)("admits again by itself when the database comes back", async () => {
    const target = new URL(process.env.DATABASE_URL!);
    const proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(target);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);

    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const client = postgres(viaProxy.toString(), { connect_timeout: 2, max: 2, onnotice: () => {} });
    const store = createPostgresStore(async () => drizzle(client) as unknown as Database);

    try {
      expect(await admit(store)).toMatchObject({ outputCap: expect.any(Number) });
      await proxy.stop();
      expect(await admit(store)).toMatchObject({ code: "LIMITS_UNAVAILABLE" });

      const restarted = await startProxy({ host: target.hostname, port: Number(target.port || 5432) }, proxy.port);
      try {
        expect(await admit(store)).toMatchObject({ outputCap: expect.any(Number) });
      } finally {
        await restarted.stop();
      }
    } finally {
      await client.end({ timeout: 1 });
    }
  });
});

describe("postgres counter rows expire", () => {
  it("a day's counters expire one day after the day ends", async () => {
    const userId = randomUUID();
    const store = createPostgresStore(getDb);
    await store.reserve({ userId, limits, promptTokens: 10, maxOutputTokens: 100, minOutputTokens: 16, now: new Date("2026-12-04T10:00:00Z") });

    const [row] = await queryRows<{ expires_at: Date | string }>(await getDb(), sql`select expires_at from limit_counters where user_id = ${userId}`);
    expect(new Date(row!.expires_at).toISOString()).toBe("2026-12-06T00:00:00.000Z");
  });

  it("a sweep deletes other users' expired rows", async () => {
    const db = await getDb();
    const gone = randomUUID();
    const longAgo = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    await db.execute(sql`insert into limit_counters (user_id, day, requests, tokens, expires_at)
                         values (${gone}, '2000-01-01', 1, 10, ${longAgo.toISOString()})`);
    await db.execute(sql`insert into rate_events (user_id, at) values (${gone}, ${longAgo.toISOString()})`);
    await db.execute(sql`insert into app_spend_counters (day, spent_micros, expires_at)
                         values ('2000-01-01', 5, ${longAgo.toISOString()}) on conflict (day) do nothing`);

    // A new store sweeps after its first reservation.
    await createPostgresStore(getDb).reserve({
      userId: randomUUID(),
      limits,
      promptTokens: 10,
      maxOutputTokens: 100,
      minOutputTokens: 16,
      now: new Date(),
    });

    const remaining = async () => {
      const [counts] = await queryRows<{ counters: number | string; events: number | string; spend: number | string }>(
        db,
        sql`select (select count(*) from limit_counters where user_id = ${gone}) as counters,
                   (select count(*) from rate_events where user_id = ${gone}) as events,
                   (select count(*) from app_spend_counters where day = '2000-01-01') as spend`,
      );
      return [counts!.counters, counts!.events, counts!.spend].map(Number);
    };
    await expect.poll(remaining, { timeout: 5_000 }).toEqual([0, 0, 0]);
  });
});
