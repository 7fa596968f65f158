"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";

export function SignOutButton() {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [failed, setFailed] = useState(false);

  async function signOut() {
    setPending(true);
    setFailed(false);
    let signedOut = false;
    try {
      const response = await fetch("/api/auth/logout", { method: "POST" });
      signedOut = response.ok;
    } catch {
      // Handled below like a failed response.
    }

    // While the cookies are still set, the sign-in page would send the user straight back, so a
    // failed sign-out stays on this page and shows an error.
    if (!signedOut) {
      setFailed(true);
      setPending(false);
      return;
    }
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <>
      {failed && (
        <span role="alert" className="shrink-0 text-xs text-red-700 dark:text-red-300">
          Sign-out failed. Try again.
        </span>
      )}
      <button
        type="button"
        onClick={signOut}
        disabled={pending}
        className="shrink-0 rounded-md px-2.5 py-1.5 text-sm font-medium text-zinc-700 hover:bg-zinc-100 disabled:opacity-60 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        Sign out
      </button>
    </>
  );
}
