import Link from "next/link";
import { NavLinks } from "@/components/nav/nav-links";
import { SignOutButton } from "@/components/nav/sign-out-button";

type Props = { email: string; plan: string; isAdmin: boolean };

/**
 * Renders the app's top bar: two rows below the `sm` breakpoint (account, then links), one row
 * above it. Its height must match `--nav-height` in globals.css, which the chat screen subtracts.
 */
export function AppNav({ email, plan, isAdmin }: Props) {
  const links = [
    { href: "/chat", label: "Chat" },
    { href: "/generate", label: "Write" },
    { href: "/dashboard", label: "Usage" },
    ...(isAdmin ? [{ href: "/admin", label: "Admin" }] : []),
    { href: "/account", label: "Account" },
  ];

  return (
    <header className="sticky top-0 z-20 h-(--nav-height) border-b border-zinc-200 bg-white/90 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/90">
      <div className="flex h-full flex-col justify-center gap-2 px-3 sm:flex-row sm:items-center sm:justify-between sm:gap-4 sm:px-4">
        <div className="flex min-w-0 items-center justify-between gap-3 sm:contents">
          <Link href="/chat" className="shrink-0 font-semibold tracking-tight sm:order-1">
            Tollgate
          </Link>
          <div className="flex min-w-0 items-center gap-2 sm:order-3">
            <span className="min-w-0 truncate text-sm text-zinc-600 dark:text-zinc-400" title={email}>
              {email}
            </span>
            <span className="shrink-0 rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-700 capitalize ring-1 ring-indigo-200 dark:bg-indigo-950 dark:text-indigo-300 dark:ring-indigo-900">
              {plan}
              <span className="sr-only"> plan</span>
            </span>
            <SignOutButton />
          </div>
        </div>
        <nav aria-label="Main" className="sm:order-2 sm:mr-auto">
          <NavLinks links={links} />
        </nav>
      </div>
    </header>
  );
}
