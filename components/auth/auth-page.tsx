import { redirect } from "next/navigation";
import { AuthForm } from "@/components/auth/auth-form";
import { getCurrentUser } from "@/lib/auth/current-user";
import { googleStartPath } from "@/lib/auth/google";
import { describeGoogleError } from "@/lib/auth/google-errors";
import { safeNextPath } from "@/lib/client/next-path";
import { getConfig } from "@/lib/config";

export type AuthPageSearchParams = Promise<{ next?: string | string[]; error?: string | string[] }>;

/**
 * Renders the sign-in or sign-up page. A signed-in visitor goes straight to `next`, and an
 * `?error=` code from a failed Google sign-in is shown as the form's message.
 */
export async function AuthPage({ mode, searchParams }: { mode: "sign-in" | "sign-up"; searchParams: AuthPageSearchParams }) {
  const { next, error } = await searchParams;
  const nextPath = safeNextPath(typeof next === "string" ? next : null);
  if (await getCurrentUser()) redirect(nextPath);

  return (
    <AuthForm
      mode={mode}
      nextPath={nextPath}
      googleHref={getConfig().google ? googleStartPath(nextPath) : null}
      initialError={describeGoogleError(error)}
    />
  );
}
