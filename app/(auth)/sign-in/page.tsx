import type { Metadata } from "next";
import { AuthPage, type AuthPageSearchParams } from "@/components/auth/auth-page";

export const metadata: Metadata = { title: "Sign in" };

export default function SignInPage({ searchParams }: { searchParams: AuthPageSearchParams }) {
  return <AuthPage mode="sign-in" searchParams={searchParams} />;
}
