import { and, eq } from "drizzle-orm";
import { applyAdminList, findUserByEmail, isUniqueViolation, normaliseEmail, type User } from "@/lib/auth/users";
import type { Database } from "@/lib/db/client";
import { accounts, users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";

export const GOOGLE_PROVIDER = "google";

/** Identity claims from Google's ID token, read by lib/auth/google.ts. */
export type GoogleIdentity = {
  /** Google's stable id for the person (`sub`). The email address may change, but this does not. */
  subject: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
};

export type GoogleRejection = "GOOGLE_EMAIL_UNVERIFIED" | "GOOGLE_EMAIL_TAKEN" | "GOOGLE_LINKED_ELSEWHERE";

export type GoogleAccountOutcome =
  | { ok: true; user: User; created: boolean; linked: boolean }
  | { ok: false; code: GoogleRejection };

type Options = {
  /** Tollgate user signed in in this browser when Google sent the person back, if any. */
  signedInUser: User | null;
  adminEmails: Set<string>;
};

/**
 * Decides which Tollgate user a Google identity signs in as. The rule (docs/security.md):
 *
 * 1. A Google identity already linked to a user signs in as that user.
 * 2. Someone signed in to Tollgate links the Google identity to their own account. They proved
 *    they own both, so the two addresses need not match.
 * 3. Otherwise a new user is created, but only when Google has verified the address and no
 *    Tollgate user has it, in any letter case.
 *
 * An address that already has a Tollgate account is never linked by email alone, because the
 * person who registered it first may not own it. Linking would let that person's password and
 * sessions into the Google user's account. The owner signs in with the password and links Google
 * from the account page instead.
 */
export async function resolveGoogleAccount(db: Database, identity: GoogleIdentity, options: Options): Promise<GoogleAccountOutcome> {
  // Two callbacks for the same new person can race. The one whose insert fails finds the other's
  // user on the second pass.
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await resolveOnce(db, identity, options);
    } catch (error) {
      if (attempt === 0 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

async function resolveOnce(db: Database, identity: GoogleIdentity, { signedInUser, adminEmails }: Options): Promise<GoogleAccountOutcome> {
  const linkedUser = await findLinkedUser(db, identity.subject);
  if (linkedUser) {
    if (signedInUser && signedInUser.id !== linkedUser.id) return { ok: false, code: "GOOGLE_LINKED_ELSEWHERE" };
    return { ok: true, user: await applyAdminList(db, linkedUser, adminEmails), created: false, linked: false };
  }

  if (signedInUser) {
    await db.insert(accounts).values({ userId: signedInUser.id, provider: GOOGLE_PROVIDER, providerAccountId: identity.subject });
    return { ok: true, user: signedInUser, created: false, linked: true };
  }

  if (!identity.emailVerified) return { ok: false, code: "GOOGLE_EMAIL_UNVERIFIED" };
  const email = normaliseEmail(identity.email);
  if (await findUserByEmail(db, { email })) {
    // A parallel callback for the same person may have created the user and its link since the
    // first lookup, and then this is that user, not someone else's account.
    const justLinked = await findLinkedUser(db, identity.subject);
    if (justLinked) return { ok: true, user: justLinked, created: false, linked: false };
    return { ok: false, code: "GOOGLE_EMAIL_TAKEN" };
  }

  // The user and the link are written together: a failure leaves neither.
  const user = await db.transaction(async (tx) => {
    const txDb = tx as unknown as Database;
    const [created] = await txDb
      .insert(users)
      .values({ email, passwordHash: null, name: identity.name?.slice(0, 100) || null, role: adminEmails.has(email) ? "admin" : "user" })
      .returning();
    await txDb.insert(accounts).values({ userId: created!.id, provider: GOOGLE_PROVIDER, providerAccountId: identity.subject });
    return created!;
  });
  return { ok: true, user, created: true, linked: true };
}

async function findLinkedUser(db: Database, subject: string): Promise<User | undefined> {
  const [row] = await db
    .select({ user: users })
    .from(accounts)
    .innerJoin(users, eq(users.id, accounts.userId))
    .where(and(eq(accounts.provider, GOOGLE_PROVIDER), eq(accounts.providerAccountId, subject)))
    .limit(1);
  return row?.user;
}

/**
 * Removes every Google identity linked to the user. A user without a password keeps them, because
 * Google is then their only way to sign in.
 */
export async function unlinkGoogle(db: Database, user: User): Promise<void> {
  if (!user.passwordHash) throw new ApiError("ONLY_SIGN_IN_METHOD");
  await db.delete(accounts).where(and(eq(accounts.userId, user.id), eq(accounts.provider, GOOGLE_PROVIDER)));
}

/** Returns when each of the user's Google identities was linked, oldest first. */
export async function listGoogleLinks(db: Database, { userId }: { userId: string }): Promise<Date[]> {
  const rows = await db
    .select({ createdAt: accounts.createdAt })
    .from(accounts)
    .where(and(eq(accounts.userId, userId), eq(accounts.provider, GOOGLE_PROVIDER)))
    .orderBy(accounts.createdAt);
  return rows.map((row) => row.createdAt);
}
