import type { Metadata } from "next";
import { AuthPage, type AuthPageSearchParams } from "@/components/auth/auth-page";

export const metadata: Metadata = { title: "Create account" };

export default function SignUpPage({ searchParams }: { searchParams: AuthPageSearchParams }) {
  return <AuthPage mode="sign-up" searchParams={searchParams} />;
}
