import type { Database } from "@/lib/db/client";
import { ApiError } from "@/lib/errors";
import { requireUser } from "@/lib/auth/session";
import type { User } from "@/lib/auth/users";

/** Returns the signed-in user if they are an admin; otherwise throws 401 or 403. */
export async function requireAdmin(db: Database, request: Request): Promise<User> {
  const user = await requireUser(db, request);
  if (user.role !== "admin") throw new ApiError("FORBIDDEN");
  return user;
}
