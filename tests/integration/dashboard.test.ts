import { beforeAll, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { GET as usage } from "@/app/api/usage/route";
import { getDb, queryRows, sql } from "@/lib/db/client";
import { getAppUsageSummary, getUsageSummary } from "@/lib/usage/queries";
import { insertUsageRow, type UsageRowInput } from "@/lib/usage/rows";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

const DAY_MS = 24 * 60 * 60 * 1000;

async function signUp() {
  const response = await callRoute(signup, { body: { email: uniqueEmail("dash"), password: "correct horse battery" } });
  expect(response.status).toBe(201);
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string };
}

function usageRow(userId: string, overrides: Partial<UsageRowInput> = {}): UsageRowInput {
  return {
    userId,
    requestId: `req_${Math.random().toString(36).slice(2)}`,
    feature: "chat",
    model: "gpt-4o-mini",
    tokensIn: 100,
    tokensOut: 50,
    costMicros: 45,
    latencyMs: 300,
    status: "ok",
    usageSource: "reported",
    ...overrides,
  };
}

async function getUsage(cookie: string, query = "") {
  const response = await callRoute(usage, { method: "GET", cookie, path: `/api/usage${query}` });
  return { status: response.status, body: await response.json() };
}

type RecentRow = { id: string; createdAt: string };

beforeAll(() => {
  configureTestEnvironment();
});

describe("usage rollups", () => {
  it("rollups equal raw row sums", async () => {
    const db = await getDb();
    const users = [await signUp(), await signUp(), await signUp()];
    const features = ["chat", "generate", "title"];
    const models = ["gpt-4o-mini", "gpt-4o", "gpt-4.1-nano"];
    // Rows over 70 days, so they cross UTC day and month boundaries, with random amounts. Some
    // are written concurrently for one user and day, which the rollup upsert must not lose.
    const now = Date.now();
    const rows: UsageRowInput[] = [];
    for (let index = 0; index < 150; index++) {
      rows.push(
        usageRow(users[index % 3]!.userId, {
          feature: features[index % 3]!,
          model: models[(index * 7) % 3]!,
          tokensIn: Math.floor(Math.random() * 3000),
          tokensOut: Math.floor(Math.random() * 900),
          costMicros: Math.floor(Math.random() * 50_000),
          createdAt: index % 10 === 0 ? undefined : new Date(now - Math.floor(Math.random() * 70 * DAY_MS)),
        }),
      );
    }
    for (let start = 0; start < rows.length; start += 15) {
      await Promise.all(rows.slice(start, start + 15).map((row) => insertUsageRow(db, row)));
    }

    const ids = sql.join(
      users.map((user) => sql`${user.userId}::uuid`),
      sql`, `,
    );
    const dailyDifferences = await queryRows(
      db,
      sql`with raw as (
            select user_id, (created_at at time zone 'UTC')::date as day, count(*)::int as requests, sum(tokens_in)::bigint as tokens_in,
                   sum(tokens_out)::bigint as tokens_out, sum(total_tokens)::bigint as total_tokens, sum(cost_micros)::bigint as cost_micros
            from llm_usage where user_id in (${ids}) group by 1, 2
          ),
          rollup as (
            select user_id, day, requests, tokens_in, tokens_out, total_tokens, cost_micros from usage_daily where user_id in (${ids})
          )
          (select * from raw except select * from rollup) union all (select * from rollup except select * from raw)`,
    );
    expect(dailyDifferences).toEqual([]);

    const monthlyDifferences = await queryRows(
      db,
      sql`with raw as (
            select user_id, date_trunc('month', created_at at time zone 'UTC')::date as month, feature, model, count(*)::int as requests,
                   sum(tokens_in)::bigint as tokens_in, sum(tokens_out)::bigint as tokens_out, sum(total_tokens)::bigint as total_tokens,
                   sum(cost_micros)::bigint as cost_micros
            from llm_usage where user_id in (${ids}) group by 1, 2, 3, 4
          ),
          rollup as (
            select user_id, month, feature, model, requests, tokens_in, tokens_out, total_tokens, cost_micros
            from usage_monthly where user_id in (${ids})
          )
          (select * from raw except select * from rollup) union all (select * from rollup except select * from raw)`,
    );
    expect(monthlyDifferences).toEqual([]);

    const [counts] = await queryRows<{ rows: number; daily: number }>(
      db,
      sql`select (select count(*)::int from llm_usage where user_id in (${ids})) as rows,
                 (select coalesce(sum(requests), 0)::int from usage_daily where user_id in (${ids})) as daily`,
    );
    expect(counts).toEqual({ rows: 150, daily: 150 });
  });

  it("summary figures equal raw rows", async () => {
    const db = await getDb();
    const { userId } = await signUp();
    const now = new Date();
    for (let index = 0; index < 60; index++) {
      await insertUsageRow(
        db,
        usageRow(userId, {
          feature: index % 4 === 0 ? "generate" : "chat",
          model: index % 3 === 0 ? "gpt-4o" : "gpt-4o-mini",
          tokensIn: 10 + index,
          tokensOut: 5 + index,
          costMicros: 1_000 + index * 37,
          createdAt: new Date(now.getTime() - index * 0.6 * DAY_MS),
        }),
      );
    }

    const summary = await getUsageSummary(db, { userId, days: 30, now });
    const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 29 * DAY_MS);
    const [raw] = await queryRows<{ requests: number; tokens: number; cost_micros: number }>(
      db,
      sql`select count(*)::int as requests, sum(total_tokens)::int as tokens, sum(cost_micros)::int as cost_micros
          from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}`,
    );
    expect(summary.period.requests).toBe(raw!.requests);
    expect(summary.period.tokens).toBe(raw!.tokens);
    expect(summary.period.costUsd).toBeCloseTo(raw!.cost_micros / 1_000_000, 9);
    expect(summary.daily).toHaveLength(30);
    expect(summary.daily.reduce((sum, day) => sum + day.requests, 0)).toBe(raw!.requests);
    expect(summary.byFeature.reduce((sum, row) => sum + row.requests, 0)).toBe(raw!.requests);
    expect(summary.byModel.reduce((sum, row) => sum + row.tokens, 0)).toBe(raw!.tokens);

    const [today] = await queryRows<{ requests: number }>(
      db,
      sql`select count(*)::int as requests from llm_usage
          where user_id = ${userId} and created_at >= ${summary.daily.at(-1)!.day}::date`,
    );
    expect(summary.today.requests).toBe(today!.requests);
  });

  it("keeps the row of a deleted chat", async () => {
    const db = await getDb();
    const { userId } = await signUp();
    const deletedChatId = "00000000-0000-4000-8000-000000000000";
    await insertUsageRow(db, usageRow(userId, { chatId: deletedChatId }));

    const rows = await queryRows<{ chat_id: string | null }>(db, sql`select chat_id from llm_usage where user_id = ${userId}`);
    expect(rows).toEqual([{ chat_id: null }]);
    const [daily] = await queryRows<{ requests: number }>(db, sql`select requests from usage_daily where user_id = ${userId}`);
    expect(daily?.requests).toBe(1);
  });

  it("app summary includes new spend", async () => {
    const db = await getDb();
    const { userId } = await signUp();
    // Other test files may write usage at the same time on a shared database, hence the lower bound.
    const feature = `feature-${Math.random().toString(36).slice(2)}`;
    const before = await getAppUsageSummary(db);
    await insertUsageRow(db, usageRow(userId, { feature, model: "gpt-4.1", costMicros: 123_456 }));

    const after = await getAppUsageSummary(db);
    expect(after.today.costUsd - before.today.costUsd).toBeGreaterThanOrEqual(0.123456 - 1e-9);
    expect(after.month.costUsd - before.month.costUsd).toBeGreaterThanOrEqual(0.123456 - 1e-9);
    expect(after.topFeatures.find((row) => row.feature === feature)).toMatchObject({ requests: 1, costUsd: 0.123456 });
  });
});

describe("GET /api/usage", () => {
  it("returns contract and paging fields", async () => {
    const { cookie, userId } = await signUp();
    await insertUsageRow(await getDb(), usageRow(userId));

    const { status, body } = await getUsage(cookie, "?days=7");
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(expect.arrayContaining(["today", "daily", "byFeature", "byModel", "recent", "period", "recentPage"]));
    expect(body.daily).toHaveLength(7);
    expect(body.today).toEqual({ requests: 1, tokens: 150, costUsd: 0.000045 });
    expect(body.recent[0]).toMatchObject({ feature: "chat", model: "gpt-4o-mini", tokensIn: 100, tokensOut: 50, status: "ok", usageSource: "reported" });
    expect(body.recentPage).toEqual({ size: 20, older: null, newer: null });
  });

  it("pages recent requests both ways", async () => {
    const { cookie, userId } = await signUp();
    const db = await getDb();
    const start = Date.now() - 60 * 60 * 1000;
    // 45 rows, and five of them share one created_at, so the cursor's id breaks ties.
    for (let index = 0; index < 45; index++) {
      const offset = index >= 20 && index < 25 ? 20 : index;
      await insertUsageRow(db, usageRow(userId, { createdAt: new Date(start + offset * 1000), tokensIn: index }));
    }

    const first = await getUsage(cookie, "?limit=20");
    expect(first.body.recent).toHaveLength(20);
    expect(first.body.recentPage.newer).toBeNull();
    const second = await getUsage(cookie, `?limit=20&before=${first.body.recentPage.older}`);
    expect(second.body.recent).toHaveLength(20);
    const third = await getUsage(cookie, `?limit=20&before=${second.body.recentPage.older}`);
    expect(third.body.recent).toHaveLength(5);
    expect(third.body.recentPage.older).toBeNull();

    const seen = [...first.body.recent, ...second.body.recent, ...third.body.recent] as RecentRow[];
    expect(new Set(seen.map((row) => row.id)).size).toBe(45);
    const times = seen.map((row) => Date.parse(row.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const back = await getUsage(cookie, `?limit=20&after=${third.body.recentPage.newer}`);
    expect((back.body.recent as RecentRow[]).map((row) => row.id)).toEqual((second.body.recent as RecentRow[]).map((row) => row.id));
    expect(back.body.recentPage.newer).not.toBeNull();
    expect(back.body.recentPage.older).not.toBeNull();
  });

  it("shows only the user's requests", async () => {
    const owner = await signUp();
    const other = await signUp();
    await insertUsageRow(await getDb(), usageRow(owner.userId));

    const { body } = await getUsage(other.cookie);
    expect(body.recent).toEqual([]);
    expect(body.today.requests).toBe(0);
  });

  it.each([
    ["a malformed cursor", "?before=not-a-cursor"],
    ["both directions", "?before=a&after=b"],
    ["a page size of 0", "?limit=0"],
    ["91 days", "?days=91"],
  ])("rejects %s", async (_case, query) => {
    const { cookie } = await signUp();
    const { status, body } = await getUsage(cookie, query);
    expect(status).toBe(400);
    expect(body.code).toBe("INVALID_INPUT");
  });

  it("requires sign-in", async () => {
    const response = await callRoute(usage, { method: "GET", path: "/api/usage" });
    expect(response.status).toBe(401);
  });
});
