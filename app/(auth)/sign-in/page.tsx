import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { AuthForm } from "@/components/auth/auth-form";
import { getCurrentUser } from "@/lib/auth/current-user";
import { googleStartPath } from "@/lib/auth/google";
import { describeGoogleError } from "@/lib/auth/google-errors";
import { safeNextPath } from "@/lib/client/next-path";
import { getConfig } from "@/lib/config";

export const metadata: Metadata = { title: "Sign in" };

type Props = { searchParams: Promise<{ next?: string | string[]; error?: string | string[] }> };

export default async function SignInPage({ searchParams }: Props) {
  const { next, error } = await searchParams;
  const nextPath = safeNextPath(typeof next === "string" ? next : null);
  if (await getCurrentUser()) redirect(nextPath);

  return (
    <AuthForm
      mode="sign-in"
      nextPath={nextPath}
      googleHref={getConfig().google ? googleStartPath(nextPath) : null}
      initialError={describeGoogleError(error)}
    />
  );
}
