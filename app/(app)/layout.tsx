import { redirect } from "next/navigation";
import type { ReactNode } from "react";
import { AppNav } from "@/components/nav/app-nav";
import { getCurrentUser } from "@/lib/auth/current-user";

// Middleware already sends signed-out visitors to sign-in, but it only checks the token's signature.
// This check also loads the user, so a revoked session or a deleted account is rejected here.
export default async function AppLayout({ children }: { children: ReactNode }) {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in");

  return (
    <div className="flex min-h-dvh flex-col">
      <AppNav email={user.email} plan={user.plan} isAdmin={user.role === "admin"} />
      <div className="flex flex-1 flex-col">{children}</div>
    </div>
  );
}
