import { NextResponse } from "next/server";
import { z } from "zod";
import { releaseAttempts, reserveAttempts, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_ADDRESS, SIGN_IN_UNKNOWN_ADDRESSES } from "@/lib/auth/attempts";
import { resolveClientAddress } from "@/lib/auth/client-address";
import { setSessionCookies } from "@/lib/auth/cookies";
import { verifyPassword } from "@/lib/auth/password";
import { createSession } from "@/lib/auth/session";
import { applyAdminList, findUserByEmail, normaliseEmail, toPublicUser } from "@/lib/auth/users";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { parseJsonBody, withErrorHandling } from "@/lib/http";

export const runtime = "nodejs";

const loginSchema = z.object({
  email: z.string({ message: "an email address is required" }).min(1, { message: "an email address is required" }).max(254),
  password: z.string({ message: "a password is required" }).min(1, { message: "a password is required" }).max(256),
});

export const POST = withErrorHandling(async (request) => {
  const input = await parseJsonBody(request, loginSchema);
  const email = normaliseEmail(input.email);
  const config = getConfig();
  const db = await getDb();

  // Counted before the password is checked, so parallel guesses cannot overshoot the limits.
  // Unknown addresses are counted the same way, so a 429 reveals nothing about which exist.
  const address = resolveClientAddress(request, config.trustProxy);
  const attempts = await reserveAttempts(db, [
    { rule: SIGN_IN_PER_ACCOUNT, subject: email },
    address ? { rule: SIGN_IN_PER_ADDRESS, subject: address } : { rule: SIGN_IN_UNKNOWN_ADDRESSES, subject: "all" },
  ]);

  const user = await findUserByEmail(db, { email });
  // verifyPassword takes as long for an unknown email as for a wrong password.
  const valid = await verifyPassword(user?.passwordHash, input.password);
  if (!user || !valid) throw new ApiError("INVALID_CREDENTIALS");
  await releaseAttempts(db, attempts);

  // Addresses listed in ADMIN_EMAILS become admins at their next sign-in.
  const signedIn = await applyAdminList(db, user, config.adminEmails);
  const tokens = await createSession(db, { user: signedIn, userAgent: request.headers.get("user-agent") });
  const response = NextResponse.json({ user: toPublicUser(signedIn) });
  setSessionCookies(response, tokens);
  return response;
});
