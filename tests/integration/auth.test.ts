import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { POST as login } from "@/app/api/auth/login/route";
import { POST as logout } from "@/app/api/auth/logout/route";
import { POST as logoutAll } from "@/app/api/auth/logout-all/route";
import { GET as refreshPage, POST as refresh } from "@/app/api/auth/refresh/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { GET as me } from "@/app/api/me/route";
import { hashToken, REFRESH_GRACE_SECONDS } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { refreshTokens, users } from "@/lib/db/schema";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

const adminEmail = uniqueEmail("boss");

beforeAll(() => configureTestEnvironment({ adminEmails: adminEmail }));

function cookieValue(cookie: string, name: string): string | undefined {
  return cookie
    .split("; ")
    .find((part) => part.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

async function signUp(email = uniqueEmail(), password = "correct horse battery") {
  const response = await callRoute(signup, { body: { email, password, name: "Casey" } });
  expect(response.status).toBe(201);
  return { email, password, cookie: cookieHeader(response), body: await response.json() };
}

describe("sign-up", () => {
  it("creates the user and sets both cookies httpOnly", async () => {
    const email = uniqueEmail();
    const response = await callRoute(signup, { body: { email, password: "correct horse battery" } });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.user.email).toBe(email);
    expect(body.user).not.toHaveProperty("passwordHash");

    const setCookies = response.headers.getSetCookie();
    const access = setCookies.find((line) => line.startsWith("accessToken="))!;
    const refreshCookie = setCookies.find((line) => line.startsWith("refreshToken="))!;
    expect(access).toMatch(/HttpOnly/i);
    expect(access).toMatch(/Path=\//);
    expect(access).toMatch(/SameSite=lax/i);
    expect(refreshCookie).toMatch(/HttpOnly/i);
    expect(refreshCookie).toMatch(/Path=\/api\/auth/);
  });

  it("stores a password hash, never the password", async () => {
    const { email, password } = await signUp();
    const db = await getDb();
    const [row] = await db.select().from(users).where(eq(users.email, email));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(row!.passwordHash).not.toContain(password);
  });

  it("rejects an email taken in another letter case", async () => {
    const email = uniqueEmail("Case");
    await signUp(email.toLowerCase());
    const response = await callRoute(signup, { body: { email: email.toUpperCase(), password: "another password" } });
    expect(response.status).toBe(409);
    expect((await response.json()).code).toBe("EMAIL_TAKEN");
  });

  it.each([
    ["malformed JSON", { rawBody: "{not json" }],
    ["a missing password", { body: { email: uniqueEmail() } }],
    ["an invalid email", { body: { email: "not-an-email", password: "long enough" } }],
    ["a short password", { body: { email: uniqueEmail(), password: "short" } }],
    ["a wrong field type", { body: { email: uniqueEmail(), password: 12345678 } }],
  ])("rejects %s with INVALID_INPUT and writes nothing", async (_case, options) => {
    const db = await getDb();
    const before = await db.$count(users);
    const response = await callRoute(signup, options);
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.code).toBe("INVALID_INPUT");
    expect(body.error).toEqual(expect.any(String));
    expect(await db.$count(users)).toBe(before);
  });

  it("makes addresses in ADMIN_EMAILS admins", async () => {
    const response = await callRoute(signup, { body: { email: adminEmail.toUpperCase(), password: "correct horse battery" } });
    expect((await response.json()).user.role).toBe("admin");
  });
});

describe("sign-in", () => {
  it("accepts the right password in any email case", async () => {
    const { email, password } = await signUp();
    const response = await callRoute(login, { body: { email: email.toUpperCase(), password } });
    expect(response.status).toBe(200);
    expect(cookieHeader(response)).toContain("accessToken=");
  });

  it("rejects a wrong password and an unknown email alike", async () => {
    const { email } = await signUp();
    const wrong = await callRoute(login, { body: { email, password: "wrong password" } });
    const unknown = await callRoute(login, { body: { email: uniqueEmail(), password: "wrong password" } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
  });
});

describe("sessions", () => {
  it("GET /api/me returns the user and plan limits", async () => {
    const { cookie, email } = await signUp();
    const response = await callRoute(me, { method: "GET", cookie });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user.email).toBe(email);
    expect(body.limits.requestsPerMinute).toBe(3);
    expect(body.usage.requestsToday).toBe(0);
  });

  it("GET /api/me without a cookie is 401 AUTH_REQUIRED", async () => {
    const response = await callRoute(me, { method: "GET" });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("AUTH_REQUIRED");
  });

  it.each([["abc"], [""], ["eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]])("treats access token %j as invalid, not a 500", async (token) => {
    const response = await callRoute(me, { method: "GET", cookie: `accessToken=${token}` });
    expect(response.status).toBe(401);
  });

  it("refresh rotates and stores only a hash", async () => {
    const { cookie } = await signUp();
    const oldRefresh = cookieValue(cookie, "refreshToken")!;
    const response = await callRoute(refresh, { cookie });
    expect(response.status).toBe(200);
    const rotated = cookieHeader(response, cookie);
    const newRefresh = cookieValue(rotated, "refreshToken")!;
    expect(newRefresh).not.toBe(oldRefresh);

    const db = await getDb();
    const [oldRow] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(oldRefresh)));
    const [newRow] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(newRefresh)));
    expect(oldRow!.replacedBy).toBe(newRow!.id);
    expect(newRow!.familyId).toBe(oldRow!.familyId);
    const stored = await db.select({ hash: refreshTokens.tokenHash }).from(refreshTokens);
    expect(stored.some((row) => row.hash === oldRefresh || row.hash === newRefresh)).toBe(false);
  });

  it("a rotated refresh token replayed after the grace window revokes the family", async () => {
    const { cookie } = await signUp();
    const rotated = cookieHeader(await callRoute(refresh, { cookie }), cookie);
    const db = await getDb();
    await db
      .update(refreshTokens)
      .set({ replacedAt: new Date(Date.now() - (REFRESH_GRACE_SECONDS + 1) * 1000) })
      .where(eq(refreshTokens.tokenHash, hashToken(cookieValue(cookie, "refreshToken")!)));

    const replay = await callRoute(refresh, { cookie });
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe("REFRESH_REUSED");

    const afterReuse = await callRoute(refresh, { cookie: rotated });
    expect(afterReuse.status).toBe(401);
  });

  it("page refresh redirects back with new cookies", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(refreshPage, { method: "GET", path: "/api/auth/refresh?next=/dashboard", cookie });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("http://localhost:3000/dashboard");
    expect(cookieHeader(response)).toContain("accessToken=");
  });

  it("page refresh never redirects off-site", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(refreshPage, { method: "GET", path: "/api/auth/refresh?next=//evil.example/x", cookie });
    expect(response.headers.get("location")).toBe("http://localhost:3000/chat");
  });

  it("sign-out revokes the refresh token", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(logout, { cookie });
    expect(response.status).toBe(204);
    const after = await callRoute(refresh, { cookie });
    expect(after.status).toBe(401);
  });

  it("sign out everywhere refuses the old access token at once", async () => {
    const { cookie } = await signUp();
    expect((await callRoute(logoutAll, { cookie })).status).toBe(204);
    const response = await callRoute(me, { method: "GET", cookie });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("TOKEN_INVALID");
  });
});
