import { errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { getConfig } from "@/lib/config";
import type { Role } from "@/lib/db/schema";
import type { PlanName } from "@/lib/limits/plans";

// This module runs in Edge middleware as well as in Node: it must not import Node built-ins.

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

const ISSUER = "tollgate";
const ACCESS_AUDIENCE = "tollgate:access";
const REFRESH_AUDIENCE = "tollgate:refresh";
const ALGORITHM = "HS256";
// Tolerated clock difference between app instances when checking `exp` and `iat`.
const CLOCK_TOLERANCE_SECONDS = 5;

export type AccessClaims = {
  sub: string;
  email: string;
  role: Role;
  plan: PlanName;
  tv: number;
  jti: string;
};

export type RefreshClaims = {
  sub: string;
  tv: number;
  fam: string;
  jti: string;
  exp: number;
};

/** Why a token was rejected, in the HTTP contract's words. */
export type TokenFailure = "TOKEN_EXPIRED" | "TOKEN_INVALID";

type VerifyResult<Claims> = { ok: true; claims: Claims } | { ok: false; reason: TokenFailure };

const keyCache = new Map<string, { key: Uint8Array; kid: string }>();

// The key id is derived from the secret, so a token names the key that signed it without
// revealing it; verification then knows at once whether it holds that key.
async function signingKey(secret: string) {
  let entry = keyCache.get(secret);
  if (!entry) {
    const key = new TextEncoder().encode(secret);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", key));
    const kid = Array.from(digest.slice(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
    entry = { key, kid };
    keyCache.set(secret, entry);
  }
  return entry;
}

async function sign(payload: JWTPayload, secret: string, audience: string, ttlSeconds: number, jti: string) {
  const { key, kid } = await signingKey(secret);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: ALGORITHM, kid, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key);
}

async function verify(token: string, secret: string, audience: string): Promise<VerifyResult<JWTPayload>> {
  if (!token) return { ok: false, reason: "TOKEN_INVALID" };
  const { key } = await signingKey(secret);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience,
      requiredClaims: ["exp", "iat", "sub", "jti"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return { ok: true, claims: payload };
  } catch (error) {
    // jose marks each failure with a stable error class; only expiry is told apart from the rest.
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "TOKEN_EXPIRED" };
    if (error instanceof errors.JOSEError || error instanceof TypeError) return { ok: false, reason: "TOKEN_INVALID" };
    throw error;
  }
}

export function signAccessToken(claims: Omit<AccessClaims, "jti">): Promise<string> {
  const { sub, ...rest } = claims;
  return sign({ ...rest, sub }, getConfig().jwt.accessSecret, ACCESS_AUDIENCE, ACCESS_TOKEN_TTL_SECONDS, crypto.randomUUID());
}

export function signRefreshToken(claims: { sub: string; tv: number; fam: string; jti: string }): Promise<string> {
  const { jti, ...payload } = claims;
  return sign(payload, getConfig().jwt.refreshSecret, REFRESH_AUDIENCE, REFRESH_TOKEN_TTL_SECONDS, jti);
}

/** Verifies an access token's signature and claims. Never throws for a bad token. */
export async function verifyAccessToken(token: string | undefined): Promise<VerifyResult<AccessClaims>> {
  const result = await verify(token ?? "", getConfig().jwt.accessSecret, ACCESS_AUDIENCE);
  if (!result.ok) return result;

  const { sub, email, role, plan, tv, jti } = result.claims;
  if (typeof email !== "string" || typeof role !== "string" || typeof plan !== "string" || typeof tv !== "number") {
    return { ok: false, reason: "TOKEN_INVALID" };
  }
  return { ok: true, claims: { sub: sub!, email, role: role as Role, plan: plan as PlanName, tv, jti: jti! } };
}

/** Verifies a refresh token's signature and claims. Never throws for a bad token. */
export async function verifyRefreshToken(token: string | undefined): Promise<VerifyResult<RefreshClaims>> {
  const result = await verify(token ?? "", getConfig().jwt.refreshSecret, REFRESH_AUDIENCE);
  if (!result.ok) return result;

  const { sub, tv, fam, jti, exp } = result.claims;
  if (typeof tv !== "number" || typeof fam !== "string") return { ok: false, reason: "TOKEN_INVALID" };
  return { ok: true, claims: { sub: sub!, tv, fam, jti: jti!, exp: exp! } };
}
