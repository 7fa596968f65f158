import { and, eq, isNull } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { POST as logout } from "@/app/api/auth/logout/route";
import { POST as logoutAll } from "@/app/api/auth/logout-all/route";
import { GET as refreshPage, POST as refresh } from "@/app/api/auth/refresh/route";
import { POST as login } from "@/app/api/auth/login/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { GET as me } from "@/app/api/me/route";
import {
  authenticateSession,
  hashToken,
  listActiveSessions,
  MAX_TOKENS_PER_ROTATION,
  REFRESH_GRACE_SECONDS,
} from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { refreshTokens } from "@/lib/db/schema";
import { logger } from "@/lib/log";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

const PASSWORD = "correct horse battery";

beforeAll(() => configureTestEnvironment());
afterEach(() => vi.restoreAllMocks());

function cookieValue(cookie: string, name: string): string {
  const value = cookie
    .split("; ")
    .find((part) => part.startsWith(`${name}=`))
    ?.slice(name.length + 1);
  if (!value) throw new Error(`cookie ${name} is missing from "${cookie}"`);
  return value;
}

async function signUp() {
  const email = uniqueEmail("session");
  const response = await callRoute(signup, { body: { email, password: PASSWORD } });
  expect(response.status).toBe(201);
  const { user } = await response.json();
  return { email, userId: user.id as string, cookie: cookieHeader(response) };
}

async function signIn(email: string) {
  const response = await callRoute(login, { body: { email, password: PASSWORD } });
  expect(response.status).toBe(200);
  return cookieHeader(response);
}

async function findStoredToken(cookie: string) {
  const db = await getDb();
  const [row] = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashToken(cookieValue(cookie, "refreshToken"))));
  return row!;
}

/** Moves a token's rotation time back, as if `seconds` had passed since it was replaced. */
async function ageRotation(cookie: string, seconds: number) {
  const db = await getDb();
  await db
    .update(refreshTokens)
    .set({ replacedAt: new Date(Date.now() - seconds * 1000) })
    .where(eq(refreshTokens.tokenHash, hashToken(cookieValue(cookie, "refreshToken"))));
}

async function liveTokensInFamily(familyId: string) {
  const db = await getDb();
  return db.$count(refreshTokens, and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

async function meStatus(cookie: string) {
  const response = await callRoute(me, { method: "GET", cookie });
  return { status: response.status, code: response.ok ? null : ((await response.json()).code as string) };
}

describe("token families", () => {
  it("each sign-in starts its own family", async () => {
    const { email, cookie } = await signUp();
    const second = await signIn(email);
    const first = await findStoredToken(cookie);
    const other = await findStoredToken(second);
    expect(first.familyId).not.toBe(other.familyId);
    expect(first.parentId).toBeNull();
  });

  it("rotation stays in the family and links the new token to its parent", async () => {
    const { cookie } = await signUp();
    const rotated = cookieHeader(await callRoute(refresh, { cookie }), cookie);
    const parent = await findStoredToken(cookie);
    const child = await findStoredToken(rotated);
    expect(child.familyId).toBe(parent.familyId);
    expect(child.parentId).toBe(parent.id);
    expect(parent.replacedBy).toBe(child.id);
    expect(parent.replacedAt).toBeInstanceOf(Date);
    expect(parent.revokedAt).toBeNull();
  });

  it("lists the sessions that can still refresh", async () => {
    const { email, userId, cookie } = await signUp();
    const second = await signIn(email);
    await callRoute(logout, { cookie: second });
    const sessions = await listActiveSessions(await getDb(), { userId });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.familyId).toBe((await findStoredToken(cookie)).familyId);
  });
});

describe("refresh races", () => {
  it.each([2, 5])("%i parallel refreshes with one token all succeed", async (parallel) => {
    const { cookie } = await signUp();
    const { familyId } = await findStoredToken(cookie);

    const responses = await Promise.all(Array.from({ length: parallel }, () => callRoute(refresh, { cookie })));
    expect(responses.map((response) => response.status)).toEqual(Array(parallel).fill(200));

    const cookies = responses.map((response) => cookieHeader(response, cookie));
    const refreshValues = new Set(cookies.map((jar) => cookieValue(jar, "refreshToken")));
    expect(refreshValues.size).toBe(parallel);
    for (const jar of cookies) {
      expect((await findStoredToken(jar)).familyId).toBe(familyId);
      expect((await meStatus(jar)).status).toBe(200);
    }
    // The presented token, the winner and its siblings: nothing was revoked.
    expect(await liveTokensInFamily(familyId)).toBe(parallel + 1);

    // Whichever pair the browser kept last, it refreshes again.
    for (const jar of cookies) expect((await callRoute(refresh, { cookie: jar })).status).toBe(200);
  });

  it("a refresh whose response was lost can be retried", async () => {
    const { cookie } = await signUp();
    const lost = await callRoute(refresh, { cookie });
    expect(lost.status).toBe(200);

    const retry = await callRoute(refresh, { cookie });
    expect(retry.status).toBe(200);
    const retried = cookieHeader(retry, cookie);
    expect((await meStatus(retried)).status).toBe(200);
    expect((await callRoute(refresh, { cookie: retried })).status).toBe(200);
  });

  it("logs a race as information, not as reuse", async () => {
    const info = vi.spyOn(logger, "info");
    const warn = vi.spyOn(logger, "warn");
    const { cookie, userId } = await signUp();
    await callRoute(refresh, { cookie });
    await callRoute(refresh, { cookie });

    expect(warn).not.toHaveBeenCalled();
    const raceLog = info.mock.calls.find(([message]) => message.includes("grace window"));
    expect(raceLog?.[1]).toMatchObject({ userId, familyId: (await findStoredToken(cookie)).familyId });
  });

  it("a replay just inside the grace window still succeeds", async () => {
    const { cookie } = await signUp();
    await callRoute(refresh, { cookie });
    await ageRotation(cookie, REFRESH_GRACE_SECONDS - 2);
    expect((await callRoute(refresh, { cookie })).status).toBe(200);
  });

  it(`stops issuing siblings after ${MAX_TOKENS_PER_ROTATION} tokens`, async () => {
    const { cookie } = await signUp();
    for (let index = 0; index < MAX_TOKENS_PER_ROTATION; index++) {
      expect((await callRoute(refresh, { cookie })).status).toBe(200);
    }
    const extra = await callRoute(refresh, { cookie });
    expect(extra.status).toBe(401);
    expect((await extra.json()).code).toBe("REFRESH_REUSED");
  });
});

describe("reuse detection", () => {
  it("a replay after the grace window is reuse and revokes the family", async () => {
    const warn = vi.spyOn(logger, "warn");
    const { cookie, userId } = await signUp();
    const rotated = cookieHeader(await callRoute(refresh, { cookie }), cookie);
    const { familyId } = await findStoredToken(cookie);
    await ageRotation(cookie, REFRESH_GRACE_SECONDS + 1);

    const replay = await callRoute(refresh, { cookie });
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe("REFRESH_REUSED");
    expect(replay.headers.getSetCookie().some((line) => /^refreshToken=;/.test(line))).toBe(true);

    expect(await liveTokensInFamily(familyId)).toBe(0);
    expect((await callRoute(refresh, { cookie: rotated })).status).toBe(401);
    expect(await meStatus(rotated)).toEqual({ status: 401, code: "TOKEN_INVALID" });

    expect(warn).toHaveBeenCalledWith("refresh token reuse; family revoked", expect.objectContaining({ userId, familyId }));
    const logged = JSON.stringify(warn.mock.calls);
    expect(logged).not.toContain(cookieValue(cookie, "refreshToken"));
    expect(logged).not.toContain(cookieValue(rotated, "refreshToken"));
  });

  it("a replay after the next rotation is reuse, even inside the window", async () => {
    const { cookie } = await signUp();
    const first = cookieHeader(await callRoute(refresh, { cookie }), cookie);
    await callRoute(refresh, { cookie: first });

    const replay = await callRoute(refresh, { cookie });
    expect(replay.status).toBe(401);
    expect((await replay.json()).code).toBe("REFRESH_REUSED");
  });

  it("a refresh token presented after sign-out is reuse", async () => {
    const { cookie } = await signUp();
    await callRoute(logout, { cookie });
    const response = await callRoute(refresh, { cookie });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("REFRESH_REUSED");
  });

  it("other families of the user survive reuse in one", async () => {
    const { email, cookie } = await signUp();
    const otherDevice = await signIn(email);
    await callRoute(refresh, { cookie });
    await ageRotation(cookie, REFRESH_GRACE_SECONDS + 1);
    await callRoute(refresh, { cookie });
    expect((await meStatus(otherDevice)).status).toBe(200);
  });
});

describe("revocation", () => {
  it("sign-out refuses the access token at once", async () => {
    const { cookie } = await signUp();
    expect((await callRoute(logout, { cookie })).status).toBe(204);
    expect(await meStatus(cookie)).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it("sign-out without a refresh cookie still ends the session", async () => {
    const { cookie } = await signUp();
    const accessOnly = `accessToken=${cookieValue(cookie, "accessToken")}`;
    expect((await callRoute(logout, { cookie: accessOnly })).status).toBe(204);
    expect((await meStatus(cookie)).status).toBe(401);
    expect((await callRoute(refresh, { cookie })).status).toBe(401);
  });

  it("the chat route refuses a signed-out session before any work", async () => {
    const { cookie } = await signUp();
    await callRoute(logout, { cookie });
    const response = await callRoute(chat, { cookie, body: { message: "hello" } });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("TOKEN_INVALID");
  });

  it("server components and actions refuse a signed-out session", async () => {
    const { cookie } = await signUp();
    const db = await getDb();
    const accessToken = cookieValue(cookie, "accessToken");
    await expect(authenticateSession(db, accessToken)).resolves.toMatchObject({ familyId: expect.any(String) });
    await callRoute(logout, { cookie });
    await expect(authenticateSession(db, accessToken)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("sign out everywhere ends every session of the user", async () => {
    const { email, userId, cookie } = await signUp();
    const otherDevice = await signIn(email);
    const response = await callRoute(logoutAll, { cookie });
    expect(response.status).toBe(204);

    for (const jar of [cookie, otherDevice]) {
      expect(await meStatus(jar)).toEqual({ status: 401, code: "TOKEN_INVALID" });
      expect((await callRoute(refresh, { cookie: jar })).status).toBe(401);
      const page = await callRoute(refreshPage, { method: "GET", path: "/api/auth/refresh?next=/chat", cookie: jar });
      expect(page.headers.get("location")).toBe("http://localhost:3000/sign-in?next=%2Fchat");
    }
    expect(await listActiveSessions(await getDb(), { userId })).toEqual([]);
    // A new sign-in works afterwards.
    expect((await meStatus(await signIn(email))).status).toBe(200);
  });

  it("sign out everywhere needs a valid session", async () => {
    const response = await callRoute(logoutAll, {});
    expect(response.status).toBe(401);
  });
});
