import { createHash } from "node:crypto";
import { and, count, desc, eq, exists, isNull, sql } from "drizzle-orm";
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

/**
 * How long a rotated refresh token is still accepted, in seconds. Two tabs refreshing with the
 * same token present it again within moments, and so does a client that lost the response of a
 * refresh that succeeded. Such requests get a sibling pair in the same family instead of being
 * treated as theft. Past this window a replaced token is reuse.
 */
export const REFRESH_GRACE_SECONDS = 30;

/**
 * The maximum number of tokens one refresh token may be rotated into: the first rotation plus
 * the siblings issued within the grace window. It is more than any number of tabs racing on one
 * browser, so a client that requests more is treated as reuse.
 */
export const MAX_TOKENS_PER_ROTATION = 10;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

type IssueInput = { user: User; familyId: string; parentId: string | null; userAgent: string | null };

/** Issues an access and refresh token pair for a user, stored as one row in its refresh-token family. */
async function issueTokens(
  db: Database,
  { user, familyId, parentId, userAgent }: IssueInput,
): Promise<TokenPair & { refreshTokenId: string }> {
  const refreshTokenId = crypto.randomUUID();
  const refreshToken = await signRefreshToken({ sub: user.id, tv: user.tokenVersion, fam: familyId, jti: refreshTokenId });
  const accessToken = await signAccessToken({
    sub: user.id,
    email: user.email,
    role: user.role,
    plan: user.plan,
    tv: user.tokenVersion,
    fam: familyId,
  });

  await db.insert(refreshTokens).values({
    id: refreshTokenId,
    userId: user.id,
    familyId,
    parentId,
    tokenHash: hashToken(refreshToken),
    expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000),
    userAgent: userAgent?.slice(0, 512) ?? null,
  });
  return { accessToken, refreshToken, refreshTokenId };
}

/** Starts a session: a new refresh-token family and its first token pair. */
export async function createSession(db: Database, input: { user: User; userAgent: string | null }): Promise<TokenPair> {
  const { accessToken, refreshToken } = await issueTokens(db, { ...input, familyId: crypto.randomUUID(), parentId: null });
  return { accessToken, refreshToken };
}

type StoredRefreshToken = typeof refreshTokens.$inferSelect;

/**
 * Checks whether a replaced token presented again is a benign race. It must have been replaced
 * within the grace window, and the token that replaced it must be neither rotated nor revoked,
 * so that it is the immediately preceding token. It must also have fewer than
 * MAX_TOKENS_PER_ROTATION tokens issued from it.
 */
async function isBenignRace(db: Database, stored: StoredRefreshToken, now: Date): Promise<boolean> {
  if (!stored.replacedAt || !stored.replacedBy) return false;
  const replacedMsAgo = now.getTime() - stored.replacedAt.getTime();
  if (replacedMsAgo > REFRESH_GRACE_SECONDS * 1000) return false;

  const [successor] = await db
    .select({ replacedBy: refreshTokens.replacedBy, revokedAt: refreshTokens.revokedAt })
    .from(refreshTokens)
    .where(eq(refreshTokens.id, stored.replacedBy));
  if (!successor || successor.replacedBy || successor.revokedAt) return false;

  const [issued] = await db.select({ value: count() }).from(refreshTokens).where(eq(refreshTokens.parentId, stored.id));
  return (issued?.value ?? 0) < MAX_TOKENS_PER_ROTATION;
}

type RotationOutcome =
  | { kind: "rotated" | "race"; user: User; tokens: TokenPair; tokenId: string }
  | { kind: "reuse"; tokenId: string };

/**
 * Rotates a refresh token: marks the presented token replaced and issues a new pair in the same
 * family. The token that was replaced a moment ago gets a sibling pair (see REFRESH_GRACE_SECONDS).
 * Any other replaced or revoked token is reuse: the whole family is revoked and REFRESH_REUSED thrown.
 */
export async function rotateRefreshToken(
  db: Database,
  { refreshToken, userAgent }: { refreshToken: string | undefined; userAgent: string | null },
): Promise<{ user: User; tokens: TokenPair }> {
  if (!refreshToken) throw new ApiError("REFRESH_INVALID");
  const verified = await verifyRefreshToken(refreshToken);
  if (!verified.ok) throw new ApiError(verified.reason === "TOKEN_EXPIRED" ? "REFRESH_EXPIRED" : "REFRESH_INVALID");
  const { sub: userId, fam: familyId, jti, tv } = verified.claims;

  // The row lock makes concurrent refreshes with one token take turns: the first rotates, the
  // others then see it replaced and take the grace-window path.
  const outcome = await db.transaction(async (tx): Promise<RotationOutcome> => {
    const txDb = tx as unknown as Database;
    const now = new Date();
    const [stored] = await txDb
      .select()
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, hashToken(refreshToken)))
      .for("update");
    if (!stored || stored.id !== jti || stored.userId !== userId || stored.familyId !== familyId) {
      throw new ApiError("REFRESH_INVALID");
    }
    // Revoking here would be rolled back with the transaction, so reuse is reported and handled after it.
    if (stored.revokedAt) return { kind: "reuse", tokenId: stored.id };
    if (stored.expiresAt.getTime() <= now.getTime()) throw new ApiError("REFRESH_EXPIRED");

    const user = await findUserById(txDb, { id: userId });
    if (!user || user.tokenVersion !== tv) throw new ApiError("REFRESH_INVALID");

    if (stored.replacedBy) {
      if (!(await isBenignRace(txDb, stored, now))) return { kind: "reuse", tokenId: stored.id };
      const sibling = await issueTokens(txDb, { user, familyId, parentId: stored.id, userAgent });
      return { kind: "race", user, tokens: sibling, tokenId: stored.id };
    }

    const issued = await issueTokens(txDb, { user, familyId, parentId: stored.id, userAgent });
    await txDb
      .update(refreshTokens)
      .set({ replacedBy: issued.refreshTokenId, replacedAt: now })
      .where(eq(refreshTokens.id, stored.id));
    return { kind: "rotated", user, tokens: issued, tokenId: stored.id };
  });

  if (outcome.kind === "reuse") {
    await revokeFamily(db, { familyId });
    logger.warn("refresh token reuse; family revoked", { userId, familyId, tokenId: outcome.tokenId });
    throw new ApiError("REFRESH_REUSED");
  }
  if (outcome.kind === "race") {
    logger.info("refresh token presented again within the grace window; sibling issued", {
      userId,
      familyId,
      tokenId: outcome.tokenId,
    });
  }
  const { accessToken, refreshToken: newRefreshToken } = outcome.tokens;
  return { user: outcome.user, tokens: { accessToken, refreshToken: newRefreshToken } };
}

/** Revokes every token of a family that is not revoked yet. */
export async function revokeFamily(db: Database, { familyId }: { familyId: string }): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)));
}

/**
 * Ends the session of a request: the family named by its refresh token, or by its access token
 * when the refresh token is missing or no longer verifies. Unknown or invalid tokens are ignored.
 */
export async function endSession(
  db: Database,
  { refreshToken, accessToken }: { refreshToken: string | undefined; accessToken: string | undefined },
): Promise<void> {
  const refresh = await verifyRefreshToken(refreshToken);
  if (refresh.ok) {
    await revokeFamily(db, { familyId: refresh.claims.fam });
    return;
  }
  const access = await verifyAccessToken(accessToken);
  if (access.ok) await revokeFamily(db, { familyId: access.claims.fam });
}

export type Session = { user: User; familyId: string };

/** Builds the query of findUserWithLiveFamily, with the user id and family id as placeholders. */
function prepareUserWithLiveFamily(db: Database) {
  const liveToken = db
    .select({ id: refreshTokens.id })
    .from(refreshTokens)
    .where(
      and(
        eq(refreshTokens.familyId, sql.placeholder("familyId")),
        eq(refreshTokens.userId, sql.placeholder("userId")),
        isNull(refreshTokens.revokedAt),
      ),
    );
  return db
    .select({ user: users, familyActive: exists(liveToken) })
    .from(users)
    .where(eq(users.id, sql.placeholder("userId")))
    .limit(1)
    .prepare("find_user_with_live_family");
}

// Built once per database: building the query with Drizzle cost more CPU than running it.
const userWithLiveFamilyQueries = new WeakMap<Database, ReturnType<typeof prepareUserWithLiveFamily>>();

/**
 * Loads a user together with whether a refresh-token family of theirs still has a token that is
 * not revoked, that is whether that session is alive. One query, because it runs on every
 * authenticated request.
 */
async function findUserWithLiveFamily(db: Database, { userId, familyId }: { userId: string; familyId: string }) {
  let query = userWithLiveFamilyQueries.get(db);
  if (!query) {
    query = prepareUserWithLiveFamily(db);
    userWithLiveFamilyQueries.set(db, query);
  }
  const [row] = await query.execute({ userId, familyId });
  return row;
}

/**
 * Returns the user and session of an access token, or throws the contract's 401. The token is
 * verified here even when middleware already did: a request can reach a handler without passing
 * middleware, and only the database records that a session was revoked. Both revocations are seen
 * at once: a bumped token version ("sign out everywhere") and a revoked family (sign-out, reuse).
 */
export async function authenticateSession(db: Database, accessToken: string | undefined): Promise<Session> {
  if (!accessToken) throw new ApiError("AUTH_REQUIRED");
  const verified = await verifyAccessToken(accessToken);
  if (!verified.ok) throw new ApiError(verified.reason);

  const { sub, tv, fam } = verified.claims;
  const found = await findUserWithLiveFamily(db, { userId: sub, familyId: fam });
  if (!found || found.user.tokenVersion !== tv || !found.familyActive) throw new ApiError("TOKEN_INVALID");
  return { user: found.user, familyId: fam };
}

/** Returns the session of an access token, or null when there is none or it is stale or revoked. */
export async function findSession(db: Database, accessToken: string | undefined): Promise<Session | null> {
  try {
    return await authenticateSession(db, accessToken);
  } catch (error) {
    if (error instanceof ApiError) return null;
    throw error;
  }
}

/** Returns the signed-in user for an access token, or throws the contract's 401 (see authenticateSession). */
export async function authenticateAccessToken(db: Database, accessToken: string | undefined): Promise<User> {
  return (await authenticateSession(db, accessToken)).user;
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

export type ActiveSession = { familyId: string; startedAt: Date; lastRefreshedAt: Date; userAgent: string | null };

/** Lists a user's sessions that can still refresh: families with a live, unexpired token. Newest first. */
export async function listActiveSessions(db: Database, { userId }: { userId: string }): Promise<ActiveSession[]> {
  const rows = await db
    .select({
      familyId: refreshTokens.familyId,
      startedAt: sql<string>`min(${refreshTokens.createdAt})`,
      lastRefreshedAt: sql<string>`max(${refreshTokens.createdAt})`,
      userAgent: sql<string | null>`(array_agg(${refreshTokens.userAgent} order by ${refreshTokens.createdAt} desc))[1]`,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.userId, userId))
    .groupBy(refreshTokens.familyId)
    .having(
      sql`bool_or(${refreshTokens.revokedAt} is null and ${refreshTokens.replacedBy} is null and ${refreshTokens.expiresAt} > now())`,
    )
    .orderBy(desc(sql`max(${refreshTokens.createdAt})`));
  return rows.map((row) => ({
    familyId: row.familyId,
    startedAt: new Date(row.startedAt),
    lastRefreshedAt: new Date(row.lastRefreshedAt),
    userAgent: row.userAgent,
  }));
}
