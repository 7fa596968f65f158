import { createHash } from "node:crypto";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "@/lib/db/client";
import { refreshTokens, users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";
import { ACCESS_COOKIE, readCookie, type TokenPair } from "@/lib/auth/cookies";
import {
  REFRESH_TOKEN_TTL_SECONDS,
  signAccessToken,
  signRefreshToken,
  verifyAccessToken,
  verifyRefreshToken,
} from "@/lib/auth/tokens";
import { findUserById, type User } from "@/lib/auth/users";
import { logger } from "@/lib/log";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Issues an access and refresh token pair for a user, stored as one row in its refresh-token family. */
async function issueTokens(
  db: Database,
  { user, familyId, userAgent }: { user: User; familyId: string; userAgent: string | null },
): Promise<TokenPair & { refreshTokenId: string }> {
  const refreshTokenId = crypto.randomUUID();
  const refreshToken = await signRefreshToken({ sub: user.id, tv: user.tokenVersion, fam: familyId, jti: refreshTokenId });
  const accessToken = await signAccessToken({
    sub: user.id,
    email: user.email,
    role: user.role,
    plan: user.plan,
    tv: user.tokenVersion,
  });

  await db.insert(refreshTokens).values({
    id: refreshTokenId,
    userId: user.id,
    familyId,
    tokenHash: hashToken(refreshToken),
    expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000),
    userAgent: userAgent?.slice(0, 512) ?? null,
  });
  return { accessToken, refreshToken, refreshTokenId };
}

/** Starts a session: a new refresh-token family and its first token pair. */
export async function createSession(db: Database, input: { user: User; userAgent: string | null }): Promise<TokenPair> {
  const { accessToken, refreshToken } = await issueTokens(db, { ...input, familyId: crypto.randomUUID() });
  return { accessToken, refreshToken };
}

/**
 * Rotates a refresh token: marks the presented token replaced and issues a new pair in the same
 * family. A token that was already replaced or revoked is reuse, so the whole family is revoked.
 */
export async function rotateRefreshToken(
  db: Database,
  { refreshToken, userAgent }: { refreshToken: string | undefined; userAgent: string | null },
): Promise<{ user: User; tokens: TokenPair }> {
  if (!refreshToken) throw new ApiError("REFRESH_INVALID");
  const verified = await verifyRefreshToken(refreshToken);
  if (!verified.ok) throw new ApiError(verified.reason === "TOKEN_EXPIRED" ? "REFRESH_EXPIRED" : "REFRESH_INVALID");
  const { sub: userId, fam: familyId, jti, tv } = verified.claims;

  const outcome = await db.transaction(async (tx) => {
    const txDb = tx as unknown as Database;
    const [stored] = await txDb
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashToken(refreshToken)))
      .for("update");
    if (!stored || stored.id !== jti || stored.userId !== userId) throw new ApiError("REFRESH_INVALID");
    // Revoking here would be rolled back with the transaction, so reuse is reported and handled after it.
    if (stored.replacedBy || stored.revokedAt) return { reused: true as const };
    if (stored.expiresAt.getTime() <= Date.now()) throw new ApiError("REFRESH_EXPIRED");

    const user = await findUserById(txDb, { id: userId });
    if (!user || user.tokenVersion !== tv) throw new ApiError("REFRESH_INVALID");

    const issued = await issueTokens(txDb, { user, familyId, userAgent });
    await txDb
      .update(refreshTokens)
      .set({ replacedBy: issued.refreshTokenId, revokedAt: new Date() })
      .where(eq(refreshTokens.id, stored.id));
    return { reused: false as const, user, tokens: { accessToken: issued.accessToken, refreshToken: issued.refreshToken } };
  });

  if (outcome.reused) {
    await revokeFamily(db, { familyId });
    logger.warn("refresh token reuse; family revoked", { userId, familyId });
    throw new ApiError("REFRESH_REUSED");
  }
  return { user: outcome.user, tokens: outcome.tokens };
}

/** Revokes every live token of a family. */
export async function revokeFamily(db: Database, { familyId }: { familyId: string }): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/** Ends the session that a refresh token belongs to. Unknown or invalid tokens are ignored. */
export async function endSession(db: Database, { refreshToken }: { refreshToken: string | undefined }): Promise<void> {
  const verified = await verifyRefreshToken(refreshToken);
  // An expired refresh token still names its family, but verification rejects it; the family
  // then expires on its own within the refresh token's lifetime.
  if (verified.ok) await revokeFamily(db, { familyId: verified.claims.fam });
}

/**
 * Returns the signed-in user for an access token, or throws the contract's 401. The token is
 * verified here even when middleware already did: a request can reach a handler without passing
 * middleware, and middleware cannot see a revoked session (a bumped token version).
 */
export async function authenticateAccessToken(db: Database, accessToken: string | undefined): Promise<User> {
  if (!accessToken) throw new ApiError("AUTH_REQUIRED");
  const verified = await verifyAccessToken(accessToken);
  if (!verified.ok) throw new ApiError(verified.reason);

  const user = await findUserById(db, { id: verified.claims.sub });
  if (!user || user.tokenVersion !== verified.claims.tv) throw new ApiError("TOKEN_INVALID");
  return user;
}

/** Returns the signed-in user of a request, from its access-token cookie. */
export function requireUser(db: Database, request: Request): Promise<User> {
  return authenticateAccessToken(db, readCookie(request, ACCESS_COOKIE));
}

/**
 * Ends every session of a user: the token version is bumped, so every access token already
 * issued is refused at its next use, and every refresh-token family is revoked.
 */
export async function revokeAllSessions(db: Database, { userId }: { userId: string }): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, userId));
    await tx
      .update(refreshTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
  });
}
