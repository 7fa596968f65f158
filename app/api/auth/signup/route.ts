import { NextResponse } from "next/server";
import { z } from "zod";
import { reserveAttempts, SIGN_UP_PER_ADDRESS, SIGN_UP_UNKNOWN_ADDRESSES } from "@/lib/auth/attempts";
import { resolveClientAddress } from "@/lib/auth/client-address";
import { setSessionCookies } from "@/lib/auth/cookies";
import { hashPassword } from "@/lib/auth/password";
import { findPasswordProblem, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "@/lib/auth/password-policy";
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
    .min(MIN_PASSWORD_LENGTH, { message: `use at least ${MIN_PASSWORD_LENGTH} characters` })
    .max(MAX_PASSWORD_LENGTH, { message: `use at most ${MAX_PASSWORD_LENGTH} characters` }),
  name: z.string().trim().max(100, { message: "use at most 100 characters" }).optional(),
});

export const POST = withErrorHandling(async (request) => {
  const input = await parseJsonBody(request, signupSchema);
  const email = normaliseEmail(input.email);
  const passwordProblem = findPasswordProblem(input.password, { email });
  if (passwordProblem) throw new ApiError("INVALID_INPUT", `Invalid password: ${passwordProblem}.`);

  const config = getConfig();
  const db = await getDb();
  // Every well-formed sign-up counts, taken addresses included, which also slows down probing
  // for registered addresses through EMAIL_TAKEN.
  const address = resolveClientAddress(request, config.trustProxy);
  await reserveAttempts(db, [
    address ? { rule: SIGN_UP_PER_ADDRESS, subject: address } : { rule: SIGN_UP_UNKNOWN_ADDRESSES, subject: "all" },
  ]);

  const passwordHash = await hashPassword(input.password);
  const role = config.adminEmails.has(email) ? "admin" : "user";

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
