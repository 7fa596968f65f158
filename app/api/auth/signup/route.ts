import { NextResponse } from "next/server";
import { z } from "zod";
import { setSessionCookies } from "@/lib/auth/cookies";
import { hashPassword } from "@/lib/auth/password";
import { createSession } from "@/lib/auth/session";
import { isUniqueViolation, normaliseEmail, toPublicUser } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { getDb, type Database } from "@/lib/db/client";
import { users } from "@/lib/db/schema";
import { ApiError } from "@/lib/errors";
import { parseJsonBody, withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

const signupSchema = z.object({
  email: z.email({ message: "enter an email address such as you@example.com" }).max(254),
  password: z
    .string({ message: "a password is required" })
    .min(8, { message: "use at least 8 characters" })
    .max(256, { message: "use at most 256 characters" }),
  name: z.string().trim().max(100, { message: "use at most 100 characters" }).optional(),
});

export const POST = withErrorHandling(async (request) => {
  const input = await parseJsonBody(request, signupSchema);
  const email = normaliseEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const role = getConfig().adminEmails.has(email) ? "admin" : "user";
  const db = await getDb();

  // The user and their first session are written together, so a failure leaves no half-made account.
  let result;
  try {
    result = await db.transaction(async (tx) => {
      const txDb = tx as unknown as Database;
      const [user] = await txDb
        .insert(users)
        .values({ email, passwordHash, name: input.name || null, role })
        .returning();
      const tokens = await createSession(txDb, { user: user!, userAgent: request.headers.get("user-agent") });
      return { user: user!, tokens };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new ApiError("EMAIL_TAKEN");
    throw error;
  }

  const response = NextResponse.json({ user: toPublicUser(result.user) }, { status: 201 });
  setSessionCookies(response, result.tokens);
  return response;
});
