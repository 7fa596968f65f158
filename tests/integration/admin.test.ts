import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { GET as adminUsage } from "@/app/api/admin/usage/route";
import { PATCH as updateUser } from "@/app/api/admin/users/[id]/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { GET as me } from "@/app/api/me/route";
import { getDb } from "@/lib/db/client";
import { insertUsageRow } from "@/lib/usage/rows";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

const adminEmail = uniqueEmail("admin");
let adminCookie: string;

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

    const response = await callRoute(adminUsage, { method: "GET", cookie: adminCookie });
    expect(response.status).toBe(200);
    const body = await response.json();
    const row = body.users.find((user: { id: string }) => user.id === heavy.userId);
    expect(row).toMatchObject({ requestsToday: 18, tokensToday: 3_600, costTodayUsd: 0.18, nearLimit: true, anomaly: true });
    expect(body.app.spendTodayUsd).toBeGreaterThanOrEqual(0.18);
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
});
