import { eq } from "drizzle-orm";
import { NextResponse } from "next/server";
import { z } from "zod";
import { setSessionCookies } from "@/lib/auth/cookies";
import { verifyPassword } from "@/lib/auth/password";
import { createSession } from "@/lib/auth/session";
import { findUserByEmail, toPublicUser } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";
import { parseJsonBody, withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

const loginSchema = z.object({
  email: z.string({ message: "an email address is required" }).min(1, { message: "an email address is required" }).max(254),
  password: z.string({ message: "a password is required" }).min(1, { message: "a password is required" }).max(256),
});

export const POST = withErrorHandling(async (request) => {
  const input = await parseJsonBody(request, loginSchema);
  const db = await getDb();

  let user = await findUserByEmail(db, { email: input.email });
  // verifyPassword takes as long for an unknown email as for a wrong password.
  const valid = await verifyPassword(user?.passwordHash, input.password);
  if (!user || !valid) throw new ApiError("INVALID_CREDENTIALS");

  // Addresses listed in ADMIN_EMAILS become admins at their next sign-in.
  if (user.role !== "admin" && getConfig().adminEmails.has(user.email)) {
    [user] = await db.update(users).set({ role: "admin" }).where(eq(users.id, user.id)).returning();
  }

  const tokens = await createSession(db, { user: user!, userAgent: request.headers.get("user-agent") });
  const response = NextResponse.json({ user: toPublicUser(user!) });
  setSessionCookies(response, tokens);
  return response;
});
