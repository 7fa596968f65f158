import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import { getConfig } from "@/lib/config";
import type { Role } from "@/lib/db/schema";
import type { PlanName } from "@/lib/limits/plans";

// This module runs in middleware as well as in route handlers. It uses node:crypto, so middleware
// must stay on the Node.js runtime.

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

/**
 * Returns the key id of a secret. It is derived from the secret, so a token names the key that
 * signed it without revealing it, and verification picks that key out of the current and previous
 * secrets.
 */
function keyId(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 12);
}

async function signingKey(secret: string): Promise<SigningKey> {
  let entry = keyCache.get(secret);
  if (!entry) {
    // Imported once: handing jose raw bytes makes it import the key again on every signature.
    const bytes = new TextEncoder().encode(secret);
    const key = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    entry = { key, kid: keyId(secret) };
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

// Verification is done here with node:crypto's synchronous HMAC rather than with jose, which uses
// WebCrypto: on one core that is about 16,000 tokens a second against about 265,000 (see
// docs/benchmarks.md). The checks are jose's, as configured for signing above.
const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;
const HMAC_SHA256_BYTES = 32;

type VerificationKey = { kid: string; secret: Buffer };

const verificationKeyCache = new Map<string, VerificationKey>();

/** Returns the keys that verify one kind of token: the current secret's, then the previous one's. */
function verificationKeys(secrets: Array<string | undefined>): VerificationKey[] {
  return secrets
    .filter((secret): secret is string => Boolean(secret))
    .map((secret) => {
      let entry = verificationKeyCache.get(secret);
      if (!entry) {
        entry = { kid: keyId(secret), secret: Buffer.from(secret, "utf8") };
        verificationKeyCache.set(secret, entry);
      }
      return entry;
    });
}

/** Parses a base64url segment as a JSON object, or returns null. */
function readJsonSegment(segment: string): Record<string, unknown> | null {
  if (!BASE64URL_SEGMENT.test(segment)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function verify(token: string, secrets: Array<string | undefined>, audience: string): VerifyResult<JWTPayload> {
  const invalid = { ok: false, reason: "TOKEN_INVALID" } as const;
  const parts = token.split(".");
  if (parts.length !== 3) return invalid;
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];

  // A header naming another algorithm (`none`, RS256, HS512), another type or critical
  // extensions is rejected before any signature check, so no key is used under another algorithm.
  const header = readJsonSegment(encodedHeader);
  if (!header || header.alg !== ALGORITHM || header.typ !== "JWT" || header.crit !== undefined) return invalid;
  // A token without a `kid`, or with one that names no configured secret, is rejected: after a
  // rotation, tokens signed with a secret that is no longer configured stop working at once.
  const key = verificationKeys(secrets).find(({ kid }) => kid === header.kid);
  if (!key || !BASE64URL_SEGMENT.test(encodedSignature)) return invalid;

  const signature = Buffer.from(encodedSignature, "base64url");
  const expected = createHmac("sha256", key.secret).update(`${encodedHeader}.${encodedPayload}`).digest();
  if (signature.length !== HMAC_SHA256_BYTES || !timingSafeEqual(signature, expected)) return invalid;

  const payload = readJsonSegment(encodedPayload);
  if (!payload || REQUIRED_CLAIMS.some((claim) => payload[claim] === undefined)) return invalid;
  const { iss, aud, sub, jti, iat, exp, nbf } = payload;
  const audienceMatches = aud === audience || (Array.isArray(aud) && aud.includes(audience));
  if (iss !== ISSUER || !audienceMatches || typeof sub !== "string" || typeof jti !== "string") return invalid;
  if (typeof iat !== "number" || typeof exp !== "number" || (nbf !== undefined && typeof nbf !== "number")) return invalid;

  const now = Math.floor(Date.now() / 1000);
  // jose's tests: expired once `exp` is at or before now less the tolerance; not yet valid while
  // `nbf` is after now plus the tolerance.
  if (exp <= now - CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: "TOKEN_EXPIRED" };
  if (typeof nbf === "number" && nbf > now + CLOCK_TOLERANCE_SECONDS) return invalid;
  return { ok: true, claims: payload as JWTPayload };
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
  // A full cache is emptied rather than trimmed by its oldest entry. Deleting from the front of a
  // Map on every insert made first-sight verification about a third slower in the micro-benchmark,
  // while re-verifying a dropped token costs only some 15 microseconds.
  if (verifiedAccessTokens.size >= VERIFIED_ACCESS_TOKENS_MAX) verifiedAccessTokens.clear();
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

  const result = verify(token ?? "", secrets, ACCESS_AUDIENCE);
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
  const result = verify(token ?? "", [refreshSecret, refreshSecretPrevious], REFRESH_AUDIENCE);
  if (!result.ok) return result;

  const { sub, tv, fam, jti, exp } = result.claims;
  if (typeof tv !== "number" || typeof fam !== "string") return { ok: false, reason: "TOKEN_INVALID" };
  return { ok: true, claims: { sub: sub!, tv, fam, jti: jti!, exp: exp! } };
}
