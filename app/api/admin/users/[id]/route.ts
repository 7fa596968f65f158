import { eq } from "drizzle-orm";
import { NextResponse } from "next/server";
import { z } from "zod";
import { requireAdmin } from "@/lib/auth/admin";
import { toPublicUser } from "@/lib/auth/users";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";
import { parseJsonBody, withErrorHandling } from "@/lib/http";
import { PLAN_NAMES } from "@/lib/limits/plans";
import { logger } from "@/lib/log";

export const runtime = "nodejs";

const updateSchema = z
  .object({
    plan: z.enum(PLAN_NAMES, { message: `must be one of ${PLAN_NAMES.join(", ")}` }).optional(),
    role: z.enum(["user", "admin"], { message: "must be user or admin" }).optional(),
  })
  .strict()
  .refine((value) => value.plan !== undefined || value.role !== undefined, { message: "give a plan or a role" });

type Context = { params: Promise<{ id: string }> };

/**
 * Changes a user's plan or role. Their access token still names the old plan and role until it
 * is next refreshed, but every LLM route and admin check reads the user from the database.
 */
export const PATCH = withErrorHandling<Context>(async (request, { params }) => {
  const db = await getDb();
  const admin = await requireAdmin(db, request);
  const { id } = await params;
  if (!z.uuid().safeParse(id).success) throw new ApiError("NOT_FOUND", "No user has that id.");
  const changes = await parseJsonBody(request, updateSchema);
  // An admin who demoted themselves could lock the console out for good when no other admin exists.
  if (changes.role === "user" && id === admin.id) {
    throw new ApiError("INVALID_INPUT", "You cannot remove your own admin role. Ask another admin to change it.");
  }

  const [user] = await db.update(users).set(changes).where(eq(users.id, id)).returning();
  if (!user) throw new ApiError("NOT_FOUND", "No user has that id.");

  logger.info("user updated by admin", { adminId: admin.id, userId: user.id, changes });
  return NextResponse.json({ user: toPublicUser(user) });
});
