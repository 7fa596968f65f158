import { and, eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { POST as login } from "@/app/api/auth/login/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { DELETE as unlinkGoogle } from "@/app/api/me/google/route";
import { GET as me } from "@/app/api/me/route";
import { GET as googleCallback } from "@/app/api/oauth/callback/google/route";
import { GET as startGoogle } from "@/app/api/oauth/google/route";
import { resetConfigForTests } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { accounts, users } from "@/lib/db/schema";
import { startOidcServer, subjectFor, type OidcServer } from "@/e2e/oidc-server";
import { callRoute, configureTestEnvironment, cookieHeader, uniqueEmail } from "@/tests/helpers";

// The whole exchange runs for real: Tollgate's routes, Auth.js, and a local OpenID Connect
// provider on 127.0.0.1 (e2e/oidc-server.ts) that signs its ID tokens like Google's.

let provider: OidcServer;
const adminEmail = uniqueEmail("google-admin");

beforeAll(async () => {
  provider = await startOidcServer();
  configureTestEnvironment({ adminEmails: adminEmail });
  process.env.AUTH_SECRET = "integration-auth-secret-0123456789-abcdefghij";
  process.env.AUTH_GOOGLE_ID = "tollgate-test-client";
  process.env.AUTH_GOOGLE_SECRET = "tollgate-test-client-secret";
  process.env.AUTH_GOOGLE_ISSUER = provider.url;
  resetConfigForTests();
});

afterEach(() => provider.reset());

afterAll(async () => {
  for (const name of ["AUTH_SECRET", "AUTH_GOOGLE_ID", "AUTH_GOOGLE_SECRET", "AUTH_GOOGLE_ISSUER"]) delete process.env[name];
  resetConfigForTests();
  await provider.close();
});

type Consent = { email: string; emailVerified?: boolean; name?: string; sub?: string; decision?: "allow" | "deny" };

/** Presses "Continue with Google" and returns the consent page's URL and the browser's cookies. */
async function startSignIn({ cookie = "", next }: { cookie?: string; next?: string } = {}) {
  const response = await callRoute(startGoogle, {
    method: "GET",
    path: `/api/oauth/google${next ? `?next=${encodeURIComponent(next)}` : ""}`,
    cookie,
    headers: { "sec-fetch-site": "same-origin" },
  });
  expect(response.status).toBe(303);
  return { location: new URL(response.headers.get("location")!), cookie: cookieHeader(response, cookie) };
}

/** Submits the provider's consent page and returns the callback URL it redirects to. */
async function consent(authorizeUrl: URL, { email, emailVerified = true, name = "Casey Example", sub, decision = "allow" }: Consent) {
  const url = new URL(authorizeUrl);
  url.searchParams.set("email", email);
  url.searchParams.set("name", name);
  if (emailVerified) url.searchParams.set("email_verified", "on");
  if (sub) url.searchParams.set("sub", sub);
  url.searchParams.set("decision", decision);
  const response = await fetch(url, { redirect: "manual" });
  expect(response.status).toBe(302);
  return new URL(response.headers.get("location")!);
}

async function returnFromGoogle(callbackUrl: URL, cookie: string) {
  const response = await callRoute(googleCallback, { method: "GET", path: `${callbackUrl.pathname}${callbackUrl.search}`, cookie });
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get("location")!);
  return { location, path: `${location.pathname}${location.search}`, cookie: cookieHeader(response, cookie), response };
}

/** Runs the whole round trip, as a browser does. */
async function continueWithGoogle(choice: Consent, options: { cookie?: string; next?: string } = {}) {
  const started = await startSignIn(options);
  const callbackUrl = await consent(started.location, choice);
  return returnFromGoogle(callbackUrl, started.cookie);
}

async function signUpWithPassword(email: string) {
  const response = await callRoute(signup, { body: { email, password: "correct horse battery" } });
  expect(response.status).toBe(201);
  return cookieHeader(response);
}

async function currentUser(cookie: string) {
  const response = await callRoute(me, { method: "GET", path: "/api/me", cookie });
  return response.status === 200 ? ((await response.json()) as { user: { id: string; email: string; role: string } }).user : null;
}

async function usersWithAddress(email: string) {
  const db = await getDb();
  return db.select().from(users).where(eq(sql`lower(${users.email})`, email.toLowerCase()));
}

async function googleLinks(userId: string) {
  const db = await getDb();
  return db.select().from(accounts).where(and(eq(accounts.userId, userId), eq(accounts.provider, "google")));
}

function hasSessionCookies(response: Response): boolean {
  return response.headers.getSetCookie().some((line) => line.startsWith("accessToken=") && !/max-age=0/i.test(line));
}

describe("Google sign-in for a new person", () => {
  it("creates user, link and session", async () => {
    const email = uniqueEmail("google");
    const result = await continueWithGoogle({ email, name: "Gale Google" });

    expect(result.path).toBe("/chat");
    expect(hasSessionCookies(result.response)).toBe(true);
    const signedIn = await currentUser(result.cookie);
    expect(signedIn?.email).toBe(email);

    const [user] = await usersWithAddress(email);
    expect(user!.passwordHash).toBeNull();
    expect(user!.name).toBe("Gale Google");
    const links = await googleLinks(user!.id);
    expect(links.map((link) => link.providerAccountId)).toEqual([subjectFor(email)]);
    // Auth.js's own session cookie is never set: Tollgate's tokens are the only session.
    expect(result.response.headers.getSetCookie().some((line) => line.includes("session-token"))).toBe(false);
  });

  it("returning identity reaches same user", async () => {
    const email = uniqueEmail("returning");
    const first = await continueWithGoogle({ email });
    const firstUser = await currentUser(first.cookie);

    const second = await continueWithGoogle({ email: uniqueEmail("renamed"), sub: subjectFor(email) });
    expect((await currentUser(second.cookie))?.id).toBe(firstUser!.id);
    expect(await googleLinks(firstUser!.id)).toHaveLength(1);
  });

  it("returns to a same-site next path", async () => {
    expect((await continueWithGoogle({ email: uniqueEmail() }, { next: "/dashboard?days=7" })).path).toBe("/dashboard?days=7");
    expect((await continueWithGoogle({ email: uniqueEmail() }, { next: "//elsewhere.example/chat" })).path).toBe("/chat");
  });

  it("promotes ADMIN_EMAILS addresses", async () => {
    const result = await continueWithGoogle({ email: adminEmail });
    expect((await currentUser(result.cookie))?.role).toBe("admin");
  });

  it("rejects an unverified address", async () => {
    const email = uniqueEmail("unverified");
    const result = await continueWithGoogle({ email, emailVerified: false });
    expect(result.path).toBe("/sign-in?error=GOOGLE_EMAIL_UNVERIFIED");
    expect(hasSessionCookies(result.response)).toBe(false);
    expect(await usersWithAddress(email)).toHaveLength(0);
  });

  it("parallel first sign-ins create one user", async () => {
    const email = uniqueEmail("twice");
    const results = await Promise.all(Array.from({ length: 6 }, () => continueWithGoogle({ email })));
    const ids = await Promise.all(results.map(async (result) => (await currentUser(result.cookie))?.id));
    expect(ids[0]).toBeDefined();
    for (const id of ids) expect(id).toBe(ids[0]);
    expect(await usersWithAddress(email)).toHaveLength(1);
    expect(await googleLinks(ids[0]!)).toHaveLength(1);
  });
});

// A password account exists for the address. Google profiles arrive for it verified, unverified
// and in another letter case: none may be linked by email.
describe("address with a password account", () => {
  it("is never linked by email", async () => {
    const email = uniqueEmail("casey");
    await signUpWithPassword(email);
    const [owner] = await usersWithAddress(email);

    const verified = await continueWithGoogle({ email });
    expect(verified.path).toBe("/sign-in?error=GOOGLE_EMAIL_TAKEN");
    const unverified = await continueWithGoogle({ email, emailVerified: false });
    expect(unverified.path).toBe("/sign-in?error=GOOGLE_EMAIL_UNVERIFIED");
    const otherCase = await continueWithGoogle({ email: email.toUpperCase(), sub: subjectFor(email) });
    expect(otherCase.path).toBe("/sign-in?error=GOOGLE_EMAIL_TAKEN");

    for (const result of [verified, unverified, otherCase]) expect(hasSessionCookies(result.response)).toBe(false);
    expect(await usersWithAddress(email)).toHaveLength(1);
    expect(await googleLinks(owner!.id)).toHaveLength(0);
  });

  it("is linked by its signed-in owner", async () => {
    const email = uniqueEmail("owner");
    await signUpWithPassword(email);
    const signedIn = await callRoute(login, { body: { email, password: "correct horse battery" } });
    const session = cookieHeader(signedIn);
    const owner = await currentUser(session);

    const linked = await continueWithGoogle({ email }, { cookie: session, next: "/account" });
    expect(linked.path).toBe("/account?linked=google");
    // Linking keeps the session the person is using; it issues no new one.
    expect(hasSessionCookies(linked.response)).toBe(false);
    expect(await googleLinks(owner!.id)).toHaveLength(1);

    // From now on Google signs in to the same account, with no password.
    const viaGoogle = await continueWithGoogle({ email });
    expect(viaGoogle.path).toBe("/chat");
    expect((await currentUser(viaGoogle.cookie))?.id).toBe(owner!.id);
  });

  it("can be unlinked by its owner", async () => {
    const email = uniqueEmail("unlink");
    const session = await signUpWithPassword(email);
    const owner = await currentUser(session);
    await continueWithGoogle({ email }, { cookie: session, next: "/account" });
    expect(await googleLinks(owner!.id)).toHaveLength(1);

    const response = await callRoute(unlinkGoogle, { method: "DELETE", path: "/api/me/google", cookie: session });
    expect(response.status).toBe(204);
    expect(await googleLinks(owner!.id)).toHaveLength(0);
    // Google no longer reaches the account.
    expect((await continueWithGoogle({ email })).path).toBe("/sign-in?error=GOOGLE_EMAIL_TAKEN");
  });

  it("rejects linking another user's identity", async () => {
    const googleEmail = uniqueEmail("taken-google");
    await continueWithGoogle({ email: googleEmail });

    const other = await signUpWithPassword(uniqueEmail("other"));
    const otherUser = await currentUser(other);
    const result = await continueWithGoogle({ email: googleEmail }, { cookie: other, next: "/account" });
    expect(result.path).toBe("/account?error=GOOGLE_LINKED_ELSEWHERE");
    expect(await googleLinks(otherUser!.id)).toHaveLength(0);
  });
});

describe("Google-only user", () => {
  it("cannot unlink Google", async () => {
    const email = uniqueEmail("google-only");
    const { cookie } = await continueWithGoogle({ email });
    const user = await currentUser(cookie);

    const response = await callRoute(unlinkGoogle, { method: "DELETE", path: "/api/me/google", cookie });
    expect(response.status).toBe(409);
    expect((await response.json()).code).toBe("ONLY_SIGN_IN_METHOD");
    expect(await googleLinks(user!.id)).toHaveLength(1);
  });

  it("cannot sign in with a password", async () => {
    const email = uniqueEmail("no-password");
    await continueWithGoogle({ email });
    const response = await callRoute(login, { body: { email, password: "correct horse battery" } });
    expect(response.status).toBe(401);
    expect((await response.json()).code).toBe("INVALID_CREDENTIALS");
  });
});

describe("failed Google sign-in", () => {
  it("reports denied consent", async () => {
    const email = uniqueEmail("denied");
    const result = await continueWithGoogle({ email, decision: "deny" });
    expect(result.path).toBe("/sign-in?error=GOOGLE_DENIED");
    expect(await usersWithAddress(email)).toHaveLength(0);
  });

  it("fails the state check", async () => {
    const email = uniqueEmail("state");
    const started = await startSignIn();
    const callbackUrl = await consent(started.location, { email });

    const tampered = new URL(callbackUrl);
    tampered.searchParams.set("state", "forged-state");
    expect((await returnFromGoogle(tampered, started.cookie)).path).toBe("/sign-in?error=GOOGLE_CHECK_FAILED");

    // The same callback, arriving in a browser that never started a sign-in.
    expect((await returnFromGoogle(callbackUrl, "")).path).toBe("/sign-in?error=GOOGLE_CHECK_FAILED");
    expect(await usersWithAddress(email)).toHaveLength(0);
  });

  it("fails the PKCE check without its cookie", async () => {
    const email = uniqueEmail("pkce");
    const started = await startSignIn();
    const callbackUrl = await consent(started.location, { email });
    const withoutVerifier = started.cookie
      .split("; ")
      .filter((part) => !part.startsWith("authjs.pkce.code_verifier="))
      .join("; ");
    expect(withoutVerifier).not.toBe(started.cookie);
    expect((await returnFromGoogle(callbackUrl, withoutVerifier)).path).toBe("/sign-in?error=GOOGLE_CHECK_FAILED");
    expect(await usersWithAddress(email)).toHaveLength(0);
  });

  it("reports a provider down at start", async () => {
    provider.setOutage(true);
    const response = await callRoute(startGoogle, { method: "GET", path: "/api/oauth/google", headers: { "sec-fetch-site": "same-origin" } });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get("location")!).pathname + new URL(response.headers.get("location")!).search).toBe(
      "/sign-in?error=GOOGLE_UNAVAILABLE",
    );
  });

  it("reports a provider down at callback", async () => {
    const email = uniqueEmail("outage");
    const started = await startSignIn();
    const callbackUrl = await consent(started.location, { email });
    provider.setOutage(true);
    expect((await returnFromGoogle(callbackUrl, started.cookie)).path).toBe("/sign-in?error=GOOGLE_UNAVAILABLE");
    expect(await usersWithAddress(email)).toHaveLength(0);

    // Once the provider is back, a fresh attempt works.
    provider.setOutage(false);
    expect((await continueWithGoogle({ email })).path).toBe("/chat");
  });

  it("ignores a cross-site start", async () => {
    const response = await callRoute(startGoogle, { method: "GET", path: "/api/oauth/google", headers: { "sec-fetch-site": "cross-site" } });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get("location")!).pathname).toBe("/sign-in");
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("Google sign-in not configured", () => {
  it("returns 404 on both routes", async () => {
    const saved = process.env.AUTH_GOOGLE_ID;
    delete process.env.AUTH_GOOGLE_ID;
    delete process.env.AUTH_GOOGLE_SECRET;
    resetConfigForTests();
    try {
      const start = await callRoute(startGoogle, { method: "GET", path: "/api/oauth/google" });
      const callback = await callRoute(googleCallback, { method: "GET", path: "/api/oauth/callback/google?code=x&state=y" });
      expect(start.status).toBe(404);
      expect(callback.status).toBe(404);
      expect((await start.json()).code).toBe("NOT_FOUND");
    } finally {
      process.env.AUTH_GOOGLE_ID = saved;
      process.env.AUTH_GOOGLE_SECRET = "tollgate-test-client-secret";
      resetConfigForTests();
    }
  });
});
