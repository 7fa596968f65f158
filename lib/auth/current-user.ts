import "server-only";
import { cookies } from "next/headers";
import { ACCESS_COOKIE } from "@/lib/auth/cookies";
import { findSession, type Session } from "@/lib/auth/session";
import type { User } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";

/**
 * Returns the signed-in user and their session for a Server Component or server action, or null.
 * Like route handlers, it verifies the token and loads the user, so a revoked session is refused
 * at once.
 */
export async function getCurrentSession(): Promise<Session | null> {
  const token = (await cookies()).get(ACCESS_COOKIE)?.value;
  if (!token) return null;
  return findSession(await getDb(), token);
}

/** Returns the signed-in user for a Server Component or server action, or null (see getCurrentSession). */
export async function getCurrentUser(): Promise<User | null> {
  return (await getCurrentSession())?.user ?? null;
}
