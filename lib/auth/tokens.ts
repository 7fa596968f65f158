import { errors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { getConfig } from "@/lib/config";
import type { Role } from "@/lib/db/schema";
import type { PlanName } from "@/lib/limits/plans";

// This module runs in middleware as well as in route handlers. It uses no Node built-ins, so
// middleware can move back to the Edge runtime without changes here.

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

const ISSUER = "tollgate";
const ACCESS_AUDIENCE = "tollgate:access";
const REFRESH_AUDIENCE = "tollgate:refresh";
// The only accepted algorithm. A token whose header names another one (`none`, RS256, HS512) is
// rejected before its signature is checked, so no key can be misused under another algorithm.
const ALGORITHM = "HS256";
// Tolerated clock difference between app instances when checking `exp` and `iat`.
export const CLOCK_TOLERANCE_SECONDS = 5;
const REQUIRED_CLAIMS = ["iss", "aud", "sub", "jti", "iat", "exp"];

export type AccessClaims = {
  sub: string;
  email: string;
  role: Role;
  plan: PlanName;
  tv: number;
  /** The refresh-token family (one per sign-in) this access token was issued in. */
  fam: string;
  jti: string;
};

export type RefreshClaims = {
  sub: string;
  tv: number;
  fam: string;
  jti: string;
  exp: number;
};

/** The reason a token was rejected, as an HTTP contract code. */
export type TokenFailure = "TOKEN_EXPIRED" | "TOKEN_INVALID";

type VerifyResult<Claims> = { ok: true; claims: Claims } | { ok: false; reason: TokenFailure };

type SigningKey = { key: CryptoKey; kid: string };

const keyCache = new Map<string, SigningKey>();

// The key id is derived from the secret, so a token names the key that signed it without
// revealing it, and verification picks that key out of the current and previous secrets.
async function signingKey(secret: string): Promise<SigningKey> {
  let entry = keyCache.get(secret);
  if (!entry) {
    const bytes = new TextEncoder().encode(secret);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const kid = Array.from(digest.slice(0, 6), (byte) => byte.toString(16).padStart(2, "0")).join("");
    // Imported once: handing jose raw bytes makes it import the key again on every call, which
    // doubled the cost of each verification in the overhead benchmark.
    const key = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    entry = { key, kid };
    keyCache.set(secret, entry);
  }
  return entry;
}

/**
 * Returns the keys that verify one kind of token: the current secret's, then the previous one's.
 * Once they are imported it returns them at once rather than as a promise, because this runs for
 * every token that middleware has not seen before.
 */
function verificationKeys(secrets: Array<string | undefined>): SigningKey[] | Promise<SigningKey[]> {
  const present = secrets.filter((secret): secret is string => Boolean(secret));
  const imported = present.map((secret) => keyCache.get(secret));
  if (imported.every((entry) => entry !== undefined)) return imported;
  return Promise.all(present.map(signingKey));
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

async function verify(token: string, secrets: Array<string | undefined>, audience: string): Promise<VerifyResult<JWTPayload>> {
  if (!token) return { ok: false, reason: "TOKEN_INVALID" };
  const found = verificationKeys(secrets);
  const keys = Array.isArray(found) ? found : await found;
  // A token without a `kid`, or with one that names no configured secret, is rejected: after a
  // rotation, tokens signed with a secret that is no longer configured stop working at once.
  const selectKey: JWTVerifyGetKey = (header) => {
    const match = keys.find(({ kid }) => kid === header.kid);
    if (!match) throw new errors.JWKSNoMatchingKey();
    return match.key;
  };

  try {
    const { payload } = await jwtVerify(token, selectKey, {
      algorithms: [ALGORITHM],
      issuer: ISSUER,
      audience,
      typ: "JWT",
      requiredClaims: REQUIRED_CLAIMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return { ok: true, claims: payload };
  } catch (error) {
    // jose marks each failure with a stable error class, and only expiry is distinguished from the rest.
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "TOKEN_EXPIRED" };
    if (error instanceof errors.JOSEError || error instanceof TypeError) return { ok: false, reason: "TOKEN_INVALID" };
    throw error;
  }
}

export function signAccessToken(claims: Omit<AccessClaims, "jti">): Promise<string> {
  return sign({ ...claims }, getConfig().jwt.accessSecret, ACCESS_AUDIENCE, ACCESS_TOKEN_TTL_SECONDS, crypto.randomUUID());
}

export function signRefreshToken(claims: { sub: string; tv: number; fam: string; jti: string }): Promise<string> {
  const { jti, ...payload } = claims;
  return sign(payload, getConfig().jwt.refreshSecret, REFRESH_AUDIENCE, REFRESH_TOKEN_TTL_SECONDS, jti);
}

/**
 * The maximum number of verified access tokens kept per process (middleware's bundle and the route
 * handlers' each have their own). At about 600 bytes a token and its claims, a full cache
 * takes some 6 MB, an estimate.
 */
export const VERIFIED_ACCESS_TOKENS_MAX = 10_000;

type VerifiedAccessToken = { claims: AccessClaims; exp: number };

// Access tokens that passed verification, keyed by the whole token, so only the very same bytes
// skip the signature check. A session presents one access token on every request for up to 15
// minutes, and middleware and the route handler each verify it. Entries are checked for expiry
// on every use, and the map is emptied when the secrets change. Only the signature and claims
// are cached: revocation is still checked against the database by the route handler.
const verifiedAccessTokens = new Map<string, VerifiedAccessToken>();
let verifiedWithSecrets: Array<string | undefined> = [];

function readVerifiedAccessToken(token: string, secrets: Array<string | undefined>): AccessClaims | null {
  if (secrets[0] !== verifiedWithSecrets[0] || secrets[1] !== verifiedWithSecrets[1]) {
    verifiedAccessTokens.clear();
    verifiedWithSecrets = secrets;
    return null;
  }
  const entry = verifiedAccessTokens.get(token);
  if (!entry) return null;
  // The same test as jose's: a token is expired once `exp` is at or before now, less the tolerance.
  if (entry.exp <= Math.floor(Date.now() / 1000) - CLOCK_TOLERANCE_SECONDS) {
    verifiedAccessTokens.delete(token);
    return null;
  }
  return entry.claims;
}

function rememberVerifiedAccessToken(token: string, secrets: Array<string | undefined>, verified: VerifiedAccessToken) {
  // Verification awaits, so the secrets may have changed in the meantime.
  if (secrets[0] !== verifiedWithSecrets[0] || secrets[1] !== verifiedWithSecrets[1]) return;
  // Maps iterate in insertion order, so the first key is the entry stored longest ago.
  if (verifiedAccessTokens.size >= VERIFIED_ACCESS_TOKENS_MAX) {
    verifiedAccessTokens.delete(verifiedAccessTokens.keys().next().value!);
  }
  verifiedAccessTokens.set(token, verified);
}

/**
 * Verifies an access token's signature and claims. Never throws for a bad token. A token that
 * passed in this process before and has not expired since is returned without a signature check.
 */
export async function verifyAccessToken(token: string | undefined): Promise<VerifyResult<AccessClaims>> {
  const { accessSecret, accessSecretPrevious } = getConfig().jwt;
  const secrets = [accessSecret, accessSecretPrevious];
  if (token) {
    const cached = readVerifiedAccessToken(token, secrets);
    if (cached) return { ok: true, claims: cached };
  }

  const result = await verify(token ?? "", secrets, ACCESS_AUDIENCE);
  if (!result.ok) return result;

  const { sub, email, role, plan, tv, fam, jti, exp } = result.claims;
  if (
    typeof email !== "string" ||
    typeof role !== "string" ||
    typeof plan !== "string" ||
    typeof tv !== "number" ||
    typeof fam !== "string"
  ) {
    return { ok: false, reason: "TOKEN_INVALID" };
  }
  // Frozen, because every later request with this token gets the same object.
  const claims: AccessClaims = Object.freeze({ sub: sub!, email, role: role as Role, plan: plan as PlanName, tv, fam, jti: jti! });
  rememberVerifiedAccessToken(token!, secrets, { claims, exp: exp! });
  return { ok: true, claims };
}

/** Verifies a refresh token's signature and claims. Never throws for a bad token. */
export async function verifyRefreshToken(token: string | undefined): Promise<VerifyResult<RefreshClaims>> {
  const { refreshSecret, refreshSecretPrevious } = getConfig().jwt;
  const result = await verify(token ?? "", [refreshSecret, refreshSecretPrevious], REFRESH_AUDIENCE);
  if (!result.ok) return result;

  const { sub, tv, fam, jti, exp } = result.claims;
  if (typeof tv !== "number" || typeof fam !== "string") return { ok: false, reason: "TOKEN_INVALID" };
  return { ok: true, claims: { sub: sub!, tv, fam, jti: jti!, exp: exp! } };
}
