import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { describeUserAgent } from "@/components/account/describe-user-agent";
import { AccountActionButton } from "@/components/account/account-action-button";
import { LocalTime } from "@/components/ui/local-time";
import { card, errorBox, secondaryButton } from "@/components/ui/styles";
import { getCurrentSession } from "@/lib/auth/current-user";
import { googleStartPath } from "@/lib/auth/google";
import { listGoogleLinks } from "@/lib/auth/google-accounts";
import { describeGoogleError } from "@/lib/auth/google-errors";
import { listActiveSessions } from "@/lib/auth/session";
import { getConfig } from "@/lib/config";
import { getDb } from "@/lib/db/client";

export const metadata: Metadata = { title: "Account" };

type Props = { searchParams: Promise<{ linked?: string | string[]; error?: string | string[] }> };

export default async function AccountPage({ searchParams }: Props) {
  const session = await getCurrentSession();
  if (!session) redirect("/sign-in");
  const { user, familyId } = session;
  const db = await getDb();
  const [sessions, googleLinks] = await Promise.all([
    listActiveSessions(db, { userId: user.id }),
    listGoogleLinks(db, { userId: user.id }),
  ]);
  const { linked, error } = await searchParams;
  const googleError = describeGoogleError(error);
  const googleEnabled = getConfig().google !== null;

  return (
    <main className="mx-auto w-full max-w-3xl space-y-6 px-4 py-6 sm:py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Account</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">Your profile and the devices signed in to it.</p>
      </div>

      <section aria-labelledby="profile-heading" className={card}>
        <h2 id="profile-heading" className="text-base font-semibold">
          Profile
        </h2>
        <dl className="mt-3 grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 text-sm">
          <dt className="text-zinc-500 dark:text-zinc-400">Email</dt>
          <dd className="min-w-0 truncate">{user.email}</dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Name</dt>
          <dd>{user.name ?? "Not set"}</dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Plan</dt>
          <dd className="capitalize">{user.plan}</dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Member since</dt>
          <dd>
            <LocalTime iso={user.createdAt.toISOString()} format="date-time" />
          </dd>
        </dl>
      </section>

      <section aria-labelledby="sign-in-methods-heading" className={card}>
        <h2 id="sign-in-methods-heading" className="text-base font-semibold">
          Sign-in methods
        </h2>
        {linked === "google" && (
          <p role="status" className="mt-3 rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:border-emerald-900/60 dark:bg-emerald-950/50 dark:text-emerald-200">
            Google is linked. You can now sign in with Google as well.
          </p>
        )}
        {googleError && (
          <p role="alert" className={`${errorBox} mt-3`}>
            {googleError}
          </p>
        )}
        <dl className="mt-3 grid grid-cols-[max-content_1fr] items-baseline gap-x-6 gap-y-2 text-sm">
          <dt className="text-zinc-500 dark:text-zinc-400">Password</dt>
          <dd>{user.passwordHash ? "Set" : "None: this account signs in with Google"}</dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Google</dt>
          <dd>
            {googleLinks.length > 0 ? (
              <>
                Linked <LocalTime iso={googleLinks[0]!.toISOString()} format="date-time" />
              </>
            ) : (
              "Not linked"
            )}
          </dd>
        </dl>
        {googleLinks.length > 0 && user.passwordHash && (
          <div className="mt-4">
            {/* Opening /account again drops ?linked=google and shows the page without the link. */}
            <AccountActionButton label="Unlink Google" pendingLabel="Unlinking…" method="DELETE" path="/api/me/google" then="/account" />
            <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
              A linked Google account can sign in even after &ldquo;Sign out everywhere&rdquo;. Unlink it if you do not
              recognise it.
            </p>
          </div>
        )}
        {googleEnabled && googleLinks.length === 0 && (
          <div className="mt-4">
            {/* A plain link, not <Link>: the browser leaves for Google. */}
            <a href={googleStartPath("/account")} className={secondaryButton}>
              Link Google account
            </a>
            <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
              Google asks which account to use. It need not have the same email address.
            </p>
          </div>
        )}
      </section>

      <section aria-labelledby="sessions-heading" className={card}>
        <h2 id="sessions-heading" className="text-base font-semibold">
          Signed-in devices ({sessions.length})
        </h2>
        <ul className="mt-3 divide-y divide-zinc-200 text-sm dark:divide-zinc-800">
          {sessions.map((entry) => (
            <li key={entry.familyId} className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 py-2.5">
              <span className="font-medium">
                {describeUserAgent(entry.userAgent)}
                {entry.familyId === familyId && (
                  <span className="ml-2 rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-900">
                    This browser
                  </span>
                )}
              </span>
              <span className="text-zinc-600 dark:text-zinc-400">
                Signed in <LocalTime iso={entry.startedAt.toISOString()} format="date-time" />, session last renewed{" "}
                <LocalTime iso={entry.lastRefreshedAt.toISOString()} format="date-time" />
              </span>
            </li>
          ))}
        </ul>

        <div className="mt-5 border-t border-zinc-200 pt-5 dark:border-zinc-800">
          <h3 className="text-sm font-semibold">Sign out everywhere</h3>
          <p className="mt-1 mb-3 text-sm text-zinc-600 dark:text-zinc-400">
            Ends every session on every device, this one included, at once. Use it if you signed in on a device you no
            longer control or think someone else can sign in as you.
          </p>
          <AccountActionButton
            label="Sign out everywhere"
            pendingLabel="Signing out everywhere…"
            method="POST"
            path="/api/auth/logout-all"
            then="/sign-in"
            danger
          />
        </div>
      </section>
    </main>
  );
}
