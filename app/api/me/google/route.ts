import { unlinkGoogle } from "@/lib/auth/google-accounts";
import { requireUser } from "@/lib/auth/session";
import { getDb } from "@/lib/db/client";
import { withErrorHandling } from "@/lib/http";
import { logger } from "@/lib/log";

export const runtime = "nodejs";

/**
 * DELETE /api/me/google: unlinks the signed-in user's Google identity. A linked Google account is a
 * way in that outlives "sign out everywhere", so its owner must be able to remove it.
 */
export const DELETE = withErrorHandling(async (request) => {
  const db = await getDb();
  const user = await requireUser(db, request);
  await unlinkGoogle(db, user);
  logger.info("google account unlinked", { userId: user.id });
  return new Response(null, { status: 204 });
});
