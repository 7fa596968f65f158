import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { GET as adminUsage } from "@/app/api/admin/usage/route";
import { PATCH as updateUser } from "@/app/api/admin/users/[id]/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { GET as me } from "@/app/api/me/route";
import { getDb } from "@/lib/db/client";
import { DEFAULT_PLANS, type PlanName } from "@/lib/limits/plans";
import { ADMIN_PAGE_SIZE, type FlaggedUser } from "@/lib/usage/admin-users";
import { findAnomalies, isNearLimit } from "@/lib/usage/flags";
import { users } from "@/lib/db/schema";
import { insertUsageRow, type UsageRowInput } from "@/lib/usage/rows";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

const adminEmail = uniqueEmail("admin");
let adminCookie: string;

async function getAdminUsage(query = "") {
  const response = await callRoute(adminUsage, { method: "GET", cookie: adminCookie, path: `/api/admin/usage${query}` });
  return { status: response.status, body: await response.json() };
}

/** Inserts users straight into the database, faster than signing each one up. */
async function insertUsers(emails: string[], plan: "free" | "pro" | "enterprise" = "free") {
  const db = await getDb();
  return db.insert(users).values(emails.map((email) => ({ email, plan }))).returning({ id: users.id, email: users.email });
}

function usageRow(userId: string, overrides: Partial<UsageRowInput> = {}): UsageRowInput {
  return {
    userId,
    requestId: `req_${randomUUID()}`,
    feature: "chat",
    model: "gpt-4o-mini",
    tokensIn: 100,
    tokensOut: 100,
    costMicros: 100,
    latencyMs: 10,
    status: "ok",
    usageSource: "reported",
    ...overrides,
  };
}

/** Checks that the flags the database computed equal the TypeScript definitions in lib/usage/flags.ts. */
function expectFlagsAgree(rows: FlaggedUser[]) {
  for (const row of rows) {
    expect(row.anomalies, row.email).toEqual(findAnomalies(row));
    expect(row.nearLimit, row.email).toBe(isNearLimit(row, DEFAULT_PLANS[row.plan as PlanName]));
  }
}

async function signUp(email = uniqueEmail()) {
  const response = await callRoute(signup, { body: { email, password: "correct horse battery" } });
  return { cookie: cookieHeader(response), userId: (await response.json()).user.id as string, email };
}

beforeAll(async () => {
  configureTestEnvironment({ adminEmails: adminEmail });
  adminCookie = (await signUp(adminEmail)).cookie;
});

describe("admin API", () => {
  it("a user cannot read the admin summary", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(adminUsage, { method: "GET", cookie });
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe("FORBIDDEN");
  });

  it("a user cannot change plans", async () => {
    const { cookie, userId } = await signUp();
    const response = await callRoute(updateUser, { method: "PATCH", cookie, params: { id: userId }, body: { plan: "enterprise" } });
    expect(response.status).toBe(403);
  });

  it("lists users with spend and flags", async () => {
    const heavy = await signUp();
    const db = await getDb();
    // 18 of the free plan's 20 requests today: past the 80% mark.
    for (let i = 0; i < 18; i++) {
      await insertUsageRow(db, {
        userId: heavy.userId,
        requestId: `req_${i}`,
        feature: "chat",
        model: "gpt-4o-mini",
        tokensIn: 100,
        tokensOut: 100,
        costMicros: 10_000,
        latencyMs: 10,
        status: "ok",
        usageSource: "reported",
      });
    }

    const { status, body } = await getAdminUsage(`?q=${encodeURIComponent(heavy.email)}`);
    expect(status).toBe(200);
    const row = body.users.find((user: { id: string }) => user.id === heavy.userId);
    expect(row).toMatchObject({ requestsToday: 18, tokensToday: 3_600, costTodayUsd: 0.18, nearLimit: true, anomaly: true });
    expect(row.anomalies).toEqual(["spend-spike"]);
    expectFlagsAgree(body.users);
    expect(body.app.spendTodayUsd).toBeGreaterThanOrEqual(0.18);
    expect(body.app).toHaveProperty("spendCapUsd");
    expect(body.app).toHaveProperty("capReached");
  });

  it("changes a user's plan, which applies at once", async () => {
    const target = await signUp();
    const response = await callRoute(updateUser, { method: "PATCH", cookie: adminCookie, params: { id: target.userId }, body: { plan: "pro" } });
    expect(response.status).toBe(200);
    expect((await response.json()).user.plan).toBe("pro");

    const profile = await (await callRoute(me, { method: "GET", cookie: target.cookie })).json();
    expect(profile.limits.requestsPerDay).toBe(200);
  });

  it.each([
    ["an unknown plan", { plan: "gold" }, 400, "INVALID_INPUT"],
    ["an unknown field", { credits: 100 }, 400, "INVALID_INPUT"],
    ["an empty change", {}, 400, "INVALID_INPUT"],
  ])("rejects %s", async (_case, body, status, code) => {
    const target = await signUp();
    const response = await callRoute(updateUser, { method: "PATCH", cookie: adminCookie, params: { id: target.userId }, body });
    expect(response.status).toBe(status);
    expect((await response.json()).code).toBe(code);
  });

  it.each([[randomUUID()], ["not-a-uuid"]])("answers 404 for user id %s", async (id) => {
    const response = await callRoute(updateUser, { method: "PATCH", cookie: adminCookie, params: { id }, body: { plan: "pro" } });
    expect(response.status).toBe(404);
    expect((await response.json()).code).toBe("NOT_FOUND");
  });
  it("searches, sorts and pages users", async () => {
    const tag = randomUUID().slice(0, 8);
    const emails = Array.from({ length: ADMIN_PAGE_SIZE + 5 }, (_, index) => `pager-${tag}-${String(index).padStart(3, "0")}@example.test`);
    const created = await insertUsers(emails);
    const db = await getDb();
    // Spend today rises with the index, so cost order is the reverse of email order.
    for (const [index, user] of created.entries()) {
      if (index % 5 === 0) await insertUsageRow(db, usageRow(user.id, { costMicros: 1_000 + index }));
    }

    const first = await getAdminUsage(`?q=pager-${tag}&sort=email`);
    expect(first.status).toBe(200);
    expect(first.body.page).toEqual({ number: 1, size: ADMIN_PAGE_SIZE, total: ADMIN_PAGE_SIZE + 5, pages: 2 });
    expect(first.body.users).toHaveLength(ADMIN_PAGE_SIZE);
    expect(first.body.users[0].email).toBe(emails[0]);

    const second = await getAdminUsage(`?q=PAGER-${tag}&sort=email&page=2`);
    expect(second.body.users.map((user: { email: string }) => user.email)).toEqual(emails.slice(ADMIN_PAGE_SIZE));

    const byCost = await getAdminUsage(`?q=pager-${tag}&sort=cost-today`);
    const spenders = byCost.body.users.slice(0, 11).map((user: { email: string }) => user.email);
    expect(spenders).toEqual(emails.filter((_, index) => index % 5 === 0).reverse());
    expect(byCost.body.users[0].costTodayUsd).toBeCloseTo(0.00105, 8);
    expectFlagsAgree(byCost.body.users);

    const ascending = await getAdminUsage(`?q=pager-${tag}&sort=cost-today&dir=asc`);
    expect(ascending.body.users[0].costTodayUsd).toBe(0);
  });

  it("clamps a page past the last", async () => {
    const tag = randomUUID().slice(0, 8);
    await insertUsers([`last-${tag}@example.test`]);
    const { body } = await getAdminUsage(`?q=last-${tag}&page=9`);
    expect(body.page).toMatchObject({ number: 1, pages: 1, total: 1 });
    expect(body.users).toHaveLength(1);
  });

  it("flags machine request rhythms", async () => {
    const tag = randomUUID().slice(0, 8);
    const [steady, clock, person] = await insertUsers(
      [`steady-${tag}@example.test`, `clock-${tag}@example.test`, `person-${tag}@example.test`],
      "enterprise",
    );
    const db = await getDb();
    const now = Date.now();
    // A script: 30 requests exactly 60 s apart.
    for (let index = 0; index < 30; index++) {
      await insertUsageRow(db, usageRow(steady!.id, { createdAt: new Date(now - 60_000 - index * 60_000) }));
    }
    // One request in each of the 22 clock hours before this one, at uneven minutes.
    const hourStart = Math.floor(now / 3_600_000) * 3_600_000;
    for (let hour = 1; hour <= 22; hour++) {
      const minute = (hour * 37) % 55;
      await insertUsageRow(db, usageRow(clock!.id, { createdAt: new Date(hourStart - hour * 3_600_000 + minute * 60_000) }));
    }
    // A person: 25 requests in bursts over an afternoon.
    const gaps = [5, 40, 8, 300, 12, 25, 900, 6, 60, 14, 1_800, 9, 45, 20, 120, 7, 600, 30, 11, 240, 16, 90, 10, 1_200];
    let time = now - 6 * 3_600_000;
    await insertUsageRow(db, usageRow(person!.id, { createdAt: new Date(time) }));
    for (const gap of gaps) {
      time += gap * 1000;
      await insertUsageRow(db, usageRow(person!.id, { createdAt: new Date(time) }));
    }

    const { body } = await getAdminUsage(`?q=${tag}&sort=email`);
    const byEmail = new Map(body.users.map((user: { email: string; anomalies: string[] }) => [user.email, user.anomalies]));
    expect(byEmail.get(steady!.email)).toEqual(["steady-rhythm"]);
    expect(byEmail.get(clock!.email)).toEqual(["around-the-clock"]);
    expect(byEmail.get(person!.email)).toEqual([]);
    expectFlagsAgree(body.users);

    const flagged = await getAdminUsage(`?q=${tag}&filter=anomaly`);
    expect(flagged.body.users.map((user: { email: string }) => user.email).sort()).toEqual([clock!.email, steady!.email]);
    expect(flagged.body.counts.anomaly).toBeGreaterThanOrEqual(2);
  });

  it("returns this month's top features", async () => {
    const [user] = await insertUsers([uniqueEmail("top")]);
    const feature = `feature-${randomUUID().slice(0, 8)}`;
    await insertUsageRow(await getDb(), usageRow(user!.id, { feature, model: "gpt-4.1", costMicros: 5_000 }));

    const { body } = await getAdminUsage();
    expect(body.top.month).toMatch(/^\d{4}-\d{2}-01$/);
    expect(body.top.features.find((row: { feature: string }) => row.feature === feature)).toMatchObject({ requests: 1, costUsd: 0.005 });
    expect(body.top.models.find((row: { model: string }) => row.model === "gpt-4.1").requests).toBeGreaterThanOrEqual(1);
    expect(body.app.spendMonthUsd).toBeGreaterThanOrEqual(body.app.spendTodayUsd);
  });

  it.each([
    ["an unknown sort", "?sort=age"],
    ["an unknown filter", "?filter=rich"],
    ["page 0", "?page=0"],
    ["a direction of up", "?dir=up"],
  ])("rejects %s", async (_case, query) => {
    const { status, body } = await getAdminUsage(query);
    expect(status).toBe(400);
    expect(body.code).toBe("INVALID_INPUT");
  });

  it("a new admin can read the console", async () => {
    const target = await signUp();
    const response = await callRoute(updateUser, { method: "PATCH", cookie: adminCookie, params: { id: target.userId }, body: { role: "admin" } });
    expect(response.status).toBe(200);
    expect((await response.json()).user.role).toBe("admin");

    const console = await callRoute(adminUsage, { method: "GET", cookie: target.cookie, path: "/api/admin/usage" });
    expect(console.status).toBe(200);
  });

  it("an admin cannot demote themselves", async () => {
    const admin = await signUp();
    await callRoute(updateUser, { method: "PATCH", cookie: adminCookie, params: { id: admin.userId }, body: { role: "admin" } });

    const response = await callRoute(updateUser, { method: "PATCH", cookie: admin.cookie, params: { id: admin.userId }, body: { role: "user" } });
    expect(response.status).toBe(400);
    expect((await response.json()).code).toBe("INVALID_INPUT");
  });
});
