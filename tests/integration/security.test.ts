import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { POST as login } from "@/app/api/auth/login/route";
import { POST as logoutAll } from "@/app/api/auth/logout-all/route";
import { POST as refresh } from "@/app/api/auth/refresh/route";
import { POST as signup } from "@/app/api/auth/signup/route";
import { GET as me } from "@/app/api/me/route";
import { SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS, SIGN_UP_PER_ADDRESS } from "@/lib/auth/attempts";
import { resolveClientAddress } from "@/lib/auth/client-address";
import { CLOCK_TOLERANCE_SECONDS, verifyAccessToken } from "@/lib/auth/tokens";
import { ConfigError, parseConfig, resetConfigForTests } from "@/lib/config";
import { callRoute, configureTestEnvironment, cookieHeader, randomClientAddress, uniqueEmail } from "@/tests/helpers";

// Every test here plays an attacker against the route handlers, the way a request reaches them
// through `next start`. Browser-only defences (headers, real cookies, tabs) are in e2e/sessions.spec.ts.

const PASSWORD = "correct horse battery";
const STRONG_SECRET = "s".repeat(32);

beforeAll(() => configureTestEnvironment());
afterEach(() => {
  delete process.env.JWT_ACCESS_SECRET_PREVIOUS;
  configureTestEnvironment();
});

function cookieValue(cookie: string, name: string): string {
  return cookie
    .split("; ")
    .find((part) => part.startsWith(`${name}=`))!
    .slice(name.length + 1);
}

async function signUp(email = uniqueEmail("target")) {
  const response = await callRoute(signup, { body: { email, password: PASSWORD } });
  expect(response.status).toBe(201);
  const { user } = await response.json();
  const cookie = cookieHeader(response);
  const verified = await verifyAccessToken(cookieValue(cookie, "accessToken"));
  if (!verified.ok) throw new Error("sign-up returned an access token that does not verify");
  return { email, user, cookie, claims: verified.claims };
}

async function meWithToken(token: string) {
  const response = await callRoute(me, { method: "GET", cookie: `accessToken=${token}` });
  return { status: response.status, code: response.ok ? null : ((await response.json()).code as string) };
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** Signs access-token claims the way the app does, with overrides an attacker might try. */
async function forgeAccessToken(
  claims: Record<string, unknown>,
  options: { secret?: string; kid?: string | null; alg?: string; issuer?: string; audience?: string; expiresAt?: number } = {},
) {
  const secret = new TextEncoder().encode(options.secret ?? process.env.JWT_ACCESS_SECRET!);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", secret));
  const kid = Array.from(digest.slice(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
  const header: Record<string, unknown> = { alg: options.alg ?? "HS256", typ: "JWT" };
  if (options.kid !== null) header.kid = options.kid ?? kid;
  const token = new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .setIssuer(options.issuer ?? "tollgate")
    .setAudience(options.audience ?? "tollgate:access")
    .setJti(crypto.randomUUID())
    .setIssuedAt();
  if (options.expiresAt !== 0) token.setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600);
  return token.sign(secret);
}

describe("forged and tampered access tokens", () => {
  it("accepts correctly signed claims (control)", async () => {
    const { claims } = await signUp();
    expect((await meWithToken(await forgeAccessToken({ ...claims, jti: undefined }))).status).toBe(200);
  });

  it("rejects alg none", async () => {
    const { claims } = await signUp();
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({
      ...claims,
      iss: "tollgate",
      aud: "tollgate:access",
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 600,
    })}.`;
    expect(await meWithToken(unsigned)).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it("rejects another algorithm with the right secret", async () => {
    const { claims } = await signUp();
    expect(await meWithToken(await forgeAccessToken(claims, { alg: "HS512" }))).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it("rejects a token signed with an unknown secret", async () => {
    const { claims } = await signUp();
    expect(await meWithToken(await forgeAccessToken(claims, { secret: "attacker-secret-".repeat(3) }))).toEqual({
      status: 401,
      code: "TOKEN_INVALID",
    });
  });

  it("rejects a token without a key id", async () => {
    const { claims } = await signUp();
    expect(await meWithToken(await forgeAccessToken(claims, { kid: null }))).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it.each([
    ["a wrong issuer", { issuer: "someone-else" }],
    ["the refresh audience", { audience: "tollgate:refresh" }],
    ["no exp claim", { expiresAt: 0 }],
  ])("rejects %s", async (_case, options) => {
    const { claims } = await signUp();
    expect(await meWithToken(await forgeAccessToken(claims, options))).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it("rejects a payload changed after signing", async () => {
    const { cookie } = await signUp();
    const [header, payload, signature] = cookieValue(cookie, "accessToken").split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const tampered = `${header}.${base64url({ ...claims, plan: "enterprise", role: "admin" })}.${signature}`;
    expect(await meWithToken(tampered)).toEqual({ status: 401, code: "TOKEN_INVALID" });
  });

  it("rejects swapped access and refresh tokens", async () => {
    const { cookie } = await signUp();
    expect(await meWithToken(cookieValue(cookie, "refreshToken"))).toEqual({ status: 401, code: "TOKEN_INVALID" });
    const swapped = await callRoute(refresh, { cookie: `refreshToken=${cookieValue(cookie, "accessToken")}` });
    expect(swapped.status).toBe(401);
    expect((await swapped.json()).code).toBe("REFRESH_INVALID");
  });

  it(`tolerates ${CLOCK_TOLERANCE_SECONDS} s of clock skew on exp, and no more`, async () => {
    const { claims } = await signUp();
    const now = Math.floor(Date.now() / 1000);
    const withinTolerance = await forgeAccessToken(claims, { expiresAt: now - (CLOCK_TOLERANCE_SECONDS - 2) });
    const pastTolerance = await forgeAccessToken(claims, { expiresAt: now - (CLOCK_TOLERANCE_SECONDS + 1) });
    expect((await meWithToken(withinTolerance)).status).toBe(200);
    expect(await meWithToken(pastTolerance)).toEqual({ status: 401, code: "TOKEN_EXPIRED" });
  });

  it.each([["abc"], [""], ["a.b.c"], ["eyJhbGciOiJIUzI1NiJ9.e30."]])("treats cookie value %j as no session, not a 500", async (token) => {
    const { status } = await meWithToken(token);
    expect(status).toBe(401);
  });
});

describe("secret rotation", () => {
  it("accepts the previous secret while configured", async () => {
    const oldSecret = process.env.JWT_ACCESS_SECRET!;
    const { cookie } = await signUp();
    const oldToken = cookieValue(cookie, "accessToken");

    process.env.JWT_ACCESS_SECRET = `rotated-access-secret-${"x".repeat(24)}`;
    process.env.JWT_ACCESS_SECRET_PREVIOUS = oldSecret;
    resetConfigForTests();
    expect((await meWithToken(oldToken)).status).toBe(200);

    const [header] = cookieValue(cookieHeader(await callRoute(refresh, { cookie })), "accessToken").split(".");
    const oldHeader = JSON.parse(Buffer.from(oldToken.split(".")[0]!, "base64url").toString());
    expect(JSON.parse(Buffer.from(header!, "base64url").toString()).kid).not.toBe(oldHeader.kid);

    delete process.env.JWT_ACCESS_SECRET_PREVIOUS;
    resetConfigForTests();
    expect(await meWithToken(oldToken)).toEqual({ status: 401, code: "TOKEN_INVALID" });
    process.env.JWT_ACCESS_SECRET = oldSecret;
  });
});

describe("start-up refuses missing and weak secrets", () => {
  function configError(environment: Record<string, string>): string {
    try {
      parseConfig({ NODE_ENV: "production", ...environment });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error("parseConfig accepted the configuration");
  }

  it("names a missing secret", () => {
    expect(configError({ JWT_ACCESS_SECRET: STRONG_SECRET })).toContain("JWT_REFRESH_SECRET");
  });

  it.each(["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET", "JWT_ACCESS_SECRET_PREVIOUS", "JWT_REFRESH_SECRET_PREVIOUS"])(
    "names %s when it is under 32 bytes",
    (name) => {
      const environment = { JWT_ACCESS_SECRET: STRONG_SECRET, JWT_REFRESH_SECRET: "r".repeat(32), [name]: "short-secret-31-bytes-long-abcd" };
      expect(configError(environment)).toMatch(new RegExp(`${name}: must be at least 32 bytes`));
    },
  );

  it("rejects a previous secret of the other kind", () => {
    const message = configError({
      JWT_ACCESS_SECRET: STRONG_SECRET,
      JWT_REFRESH_SECRET: "r".repeat(32),
      JWT_ACCESS_SECRET_PREVIOUS: "r".repeat(32),
    });
    expect(message).toContain("JWT_ACCESS_SECRET_PREVIOUS");
  });
});

describe("cross-site requests", () => {
  it.each([
    ["another site's Origin", { origin: "https://evil.example" }],
    ["a sibling subdomain's Origin", { origin: "http://evil.localhost:3000" }],
    ["Origin null", { origin: "null" }],
    ["Sec-Fetch-Site cross-site without Origin", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site same-site without Origin", { "sec-fetch-site": "same-site" }],
  ])("rejects a state-changing request with %s", async (_case, headers) => {
    const { cookie } = await signUp();
    const response = await callRoute(logoutAll, { cookie, headers });
    expect(response.status).toBe(403);
    expect((await response.json()).code).toBe("INVALID_ORIGIN");
    expect((await callRoute(me, { method: "GET", cookie })).status).toBe(200);
  });

  it.each([
    ["the app's Origin", { origin: "http://localhost:3000" }],
    ["the Host it was reached at", { origin: "http://127.0.0.1:3000", host: "127.0.0.1:3000" }],
    ["Sec-Fetch-Site same-origin", { "sec-fetch-site": "same-origin" }],
    ["neither header (a program, not a browser)", {}],
  ])("accepts a state-changing request with %s", async (_case, headers) => {
    const { cookie } = await signUp();
    expect((await callRoute(logoutAll, { cookie, headers })).status).toBe(204);
  });

  it("lets reads through from any origin", async () => {
    const { cookie } = await signUp();
    const response = await callRoute(me, { method: "GET", cookie, headers: { origin: "https://evil.example" } });
    expect(response.status).toBe(200);
  });

  it("rejects a cross-site sign-in without cookies", async () => {
    const { email } = await signUp();
    const response = await callRoute(login, { body: { email, password: PASSWORD }, headers: { origin: "https://evil.example" } });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("password guessing", () => {
  async function attemptSignIn(email: string, password: string, address = randomClientAddress()) {
    return callRoute(login, { body: { email, password }, headers: { "x-forwarded-for": address } });
  }

  it(`locks an account after ${SIGN_IN_PER_ACCOUNT.limit} failed attempts, from any address`, async () => {
    const { email } = await signUp();
    for (let attempt = 0; attempt < SIGN_IN_PER_ACCOUNT.limit; attempt++) {
      expect((await attemptSignIn(email, `wrong guess ${attempt}`)).status).toBe(401);
    }

    const blocked = await attemptSignIn(email, PASSWORD);
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).code).toBe("TOO_MANY_ATTEMPTS");
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(SIGN_IN_PER_ACCOUNT.windowSeconds);
  });

  it("admits exactly the limit when guesses arrive in parallel", async () => {
    const { email } = await signUp();
    const responses = await Promise.all(
      Array.from({ length: SIGN_IN_PER_ACCOUNT.limit + 5 }, (_, index) => attemptSignIn(email, `parallel guess ${index}`)),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(SIGN_IN_PER_ACCOUNT.limit);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
  });

  it("does not count successful sign-ins against the account", async () => {
    const { email } = await signUp();
    for (let attempt = 0; attempt < SIGN_IN_PER_ACCOUNT.limit + 2; attempt++) {
      expect((await attemptSignIn(email, PASSWORD)).status).toBe(200);
    }
  });

  it("limits an unknown email exactly like a known one", async () => {
    const email = uniqueEmail("nobody");
    for (let attempt = 0; attempt < SIGN_IN_PER_ACCOUNT.limit; attempt++) {
      expect((await attemptSignIn(email, "guess")).status).toBe(401);
    }
    expect((await attemptSignIn(email, "guess")).status).toBe(429);
  });

  it(`limits one address to ${SIGN_IN_PER_ADDRESS.limit} failures over many accounts`, async () => {
    const address = randomClientAddress();
    for (let attempt = 0; attempt < SIGN_IN_PER_ADDRESS.limit; attempt++) {
      expect((await attemptSignIn(uniqueEmail("stuffed"), "password from a breach", address)).status).toBe(401);
    }
    const blocked = await attemptSignIn(uniqueEmail("stuffed"), "password from a breach", address);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("retry-after")).toMatch(/^\d+$/);

    // Another client is not affected.
    const { email } = await signUp();
    expect((await attemptSignIn(email, PASSWORD)).status).toBe(200);
  });

  it("takes as long for an unknown email as for a wrong password", async () => {
    const { email } = await signUp();
    const timings = { known: [] as number[], unknown: [] as number[] };
    for (let round = 0; round < 7; round++) {
      for (const kind of ["known", "unknown"] as const) {
        const started = performance.now();
        const response = await attemptSignIn(kind === "known" ? email : uniqueEmail("ghost"), `wrong ${round}`);
        timings[kind].push(performance.now() - started);
        expect(response.status).toBe(401);
      }
    }
    // The fastest of each kind is the least disturbed by other test files sharing the CPU. Both
    // paths run one argon2id verification, while skipping it for unknown emails would make them
    // over ten times faster (a primary-key lookup against tens of milliseconds of hashing), so
    // these wide bounds still catch that.
    const ratio = Math.min(...timings.unknown) / Math.min(...timings.known);
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(2.5);
  });
});

describe("sign-up abuse", () => {
  it(`limits one address to ${SIGN_UP_PER_ADDRESS.limit} sign-ups per hour`, async () => {
    const address = randomClientAddress();
    const attempt = () =>
      callRoute(signup, { body: { email: uniqueEmail("farm"), password: PASSWORD }, headers: { "x-forwarded-for": address } });
    for (let index = 0; index < SIGN_UP_PER_ADDRESS.limit; index++) expect((await attempt()).status).toBe(201);

    const blocked = await attempt();
    expect(blocked.status).toBe(429);
    expect((await blocked.json()).code).toBe("TOO_MANY_ATTEMPTS");
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(SIGN_IN_PER_ACCOUNT.windowSeconds);
  });

  it.each([
    ["a 7-character password", "Ab3$xyz"],
    ["a common password", "password123"],
    ["a common password in other letter case", "PassWord123"],
    ["a keyboard walk", "qwertyuiop"],
    ["the email address itself", "EMAIL"],
  ])("rejects %s", async (_case, password) => {
    const email = uniqueEmail("weak");
    const response = await callRoute(signup, { body: { email, password: password === "EMAIL" ? email : password } });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.code).toBe("INVALID_INPUT");
    expect(body.error).toMatch(/^Invalid password: /);
  });

  it("accepts a long uncommon passphrase", async () => {
    const response = await callRoute(signup, { body: { email: uniqueEmail(), password: "lantern orbit teaspoon" } });
    expect(response.status).toBe(201);
  });
});

describe("client address", () => {
  const request = (forwardedFor?: string) =>
    new Request("http://localhost:3000/api/auth/login", { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} });

  it("ignores X-Forwarded-For unless TRUST_PROXY is set", () => {
    expect(resolveClientAddress(request("203.0.113.9"), 0)).toBeNull();
  });

  it("takes the entry appended by the last trusted proxy", () => {
    expect(resolveClientAddress(request("198.51.100.1, 203.0.113.9"), 1)).toBe("203.0.113.9");
    expect(resolveClientAddress(request("198.51.100.1, 203.0.113.9, 192.0.2.10"), 2)).toBe("203.0.113.9");
  });

  it("reduces IPv6 to its /64 and unwraps mapped IPv4", () => {
    expect(resolveClientAddress(request("2001:db8:1:2:aaaa::1"), 1)).toBe("2001:db8:1:2::/64");
    expect(resolveClientAddress(request("2001:db8:1:2:bbbb::7"), 1)).toBe("2001:db8:1:2::/64");
    expect(resolveClientAddress(request("::ffff:203.0.113.9"), 1)).toBe("203.0.113.9");
  });

  it("returns null for a missing, short or malformed header", () => {
    expect(resolveClientAddress(request(), 1)).toBeNull();
    expect(resolveClientAddress(request("203.0.113.9"), 2)).toBeNull();
    expect(resolveClientAddress(request("not-an-address"), 1)).toBeNull();
  });
});
