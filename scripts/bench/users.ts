import { createHash, randomBytes, randomUUID } from "node:crypto";
import { ACCESS_COOKIE } from "@/lib/auth/cookies";
import { REFRESH_TOKEN_TTL_SECONDS, signAccessToken } from "@/lib/auth/tokens";
import type { Database } from "@/lib/db/client";
import { refreshTokens, users } from "@/lib/db/schema";

export type BenchUser = { id: string; email: string; familyId: string };

const INSERT_BATCH = 1_000;

/**
 * Inserts `count` users on the free plan, each signed in once: one refresh-token family with one
 * live token, which is what the route handler checks besides the user's token version. The rows
 * are written directly, because sign-up is rate limited per client address.
 */
export async function insertBenchUsers(db: Database, count: number): Promise<BenchUser[]> {
  const runId = randomBytes(4).toString("hex");
  const created: BenchUser[] = Array.from({ length: count }, (_, index) => ({
    id: randomUUID(),
    email: `bench-${runId}-${index}@example.test`,
    familyId: randomUUID(),
  }));
  const expiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000);

  for (let start = 0; start < created.length; start += INSERT_BATCH) {
    const batch = created.slice(start, start + INSERT_BATCH);
    await db.insert(users).values(batch.map(({ id, email }) => ({ id, email, plan: "free" as const })));
    await db.insert(refreshTokens).values(
      batch.map(({ id, familyId }) => ({
        id: randomUUID(),
        userId: id,
        familyId,
        // No client ever presents this refresh token: the hash only has to be unique.
        tokenHash: createHash("sha256").update(randomBytes(32)).digest("hex"),
        expiresAt,
      })),
    );
  }
  return created;
}

/**
 * Signs a fresh access token for each user and returns its Cookie header. Access tokens live
 * 15 minutes, so each benchmark phase signs its own.
 */
export async function signCookies(benchUsers: BenchUser[]): Promise<string[]> {
  const tokens = await Promise.all(
    benchUsers.map((user) =>
      signAccessToken({ sub: user.id, email: user.email, role: "user", plan: "free", tv: 0, fam: user.familyId }),
    ),
  );
  return tokens.map((token) => `${ACCESS_COOKIE}=${token}`);
}
