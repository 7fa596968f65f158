import { createHash, createHmac, randomUUID } from "node:crypto";
import { SignJWT, type JWTHeaderParameters } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signAccessToken, verifyAccessToken, verifyRefreshToken } from "@/lib/auth/tokens";
import { configureTestEnvironment } from "@/tests/helpers";

// verifyAccessToken checks signatures with node:crypto and the header and claims itself, so each
// check jose would make is exercised here with a token signed by the right secret.

beforeAll(() => configureTestEnvironment());

const now = () => Math.floor(Date.now() / 1000);

function keyId(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 12);
}

type Forgery = { header?: Partial<JWTHeaderParameters> & Record<string, unknown>; claims?: Record<string, unknown> };

/** Signs access-token claims with the app's own secret, changed as a test needs. */
function forge({ header = {}, claims = {} }: Forgery = {}): Promise<string> {
  const secret = process.env.JWT_ACCESS_SECRET!;
  const payload = {
    sub: randomUUID(),
    email: "forged@example.test",
    role: "user",
    plan: "free",
    tv: 0,
    fam: randomUUID(),
    jti: randomUUID(),
    iss: "tollgate",
    aud: "tollgate:access",
    iat: now(),
    exp: now() + 600,
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name as keyof typeof payload];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: keyId(secret), ...header } as JWTHeaderParameters)
    .sign(new TextEncoder().encode(secret));
}

async function reason(token: string) {
  const result = await verifyAccessToken(token);
  return result.ok ? "ok" : result.reason;
}

describe("access-token verification", () => {
  it("accepts the app's own token", async () => {
    const token = await signAccessToken({ sub: randomUUID(), email: "own@example.test", role: "user", plan: "free", tv: 0, fam: randomUUID() });
    expect(await reason(token)).toBe("ok");
  });

  it("accepts a correct forgery (control)", async () => {
    expect(await reason(await forge())).toBe("ok");
  });

  it("accepts an audience list", async () => {
    expect(await reason(await forge({ claims: { aud: ["other", "tollgate:access"] } }))).toBe("ok");
  });

  it.each([
    ["no typ", { header: { typ: undefined } }],
    ["another typ", { header: { typ: "at+jwt" } }],
    ["a kid of no secret", { header: { kid: "000000000000" } }],
    ["a future nbf", { claims: { nbf: now() + 3600 } }],
    ["a string iat", { claims: { iat: "yesterday" } }],
    ["no jti", { claims: { jti: undefined } }],
    ["no sub", { claims: { sub: undefined } }],
    ["an audience list without ours", { claims: { aud: ["other"] } }],
  ])("rejects %s", async (_case, forgery) => {
    expect(await reason(await forge(forgery as Forgery))).toBe("TOKEN_INVALID");
  });

  it("rejects a crit header", async () => {
    // jose will not sign with an extension it does not know, so this token is signed by hand.
    const [, payload] = (await forge()).split(".");
    const secret = process.env.JWT_ACCESS_SECRET!;
    const header = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT", kid: keyId(secret), crit: ["x-tollgate"], "x-tollgate": 1 })).toString("base64url");
    const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
    expect(await reason(`${header}.${payload}.${signature}`)).toBe("TOKEN_INVALID");
  });

  it("reports expiry past the tolerance", async () => {
    expect(await reason(await forge({ claims: { iat: now() - 900, exp: now() - 60 } }))).toBe("TOKEN_EXPIRED");
  });

  it.each([
    ["a truncated signature", (token: string) => token.slice(0, -4)],
    ["no signature", (token: string) => token.slice(0, token.lastIndexOf(".") + 1)],
    ["padding in the signature", (token: string) => `${token}=`],
    ["a fourth segment", (token: string) => `${token}.e30`],
    ["a header that is not JSON", (token: string) => `bm90IGpzb24.${token.split(".").slice(1).join(".")}`],
  ])("rejects %s", async (_case, change) => {
    expect(await reason(change(await forge()))).toBe("TOKEN_INVALID");
  });

  it("rejects an access token as a refresh token", async () => {
    const result = await verifyRefreshToken(await forge());
    expect(result).toEqual({ ok: false, reason: "TOKEN_INVALID" });
  });
});
