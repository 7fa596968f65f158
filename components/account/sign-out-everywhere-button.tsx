"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorBox, secondaryButton } from "@/components/ui/styles";
import { apiFetch, readErrorMessage } from "@/lib/client/api";

/** Ends every session of the user, this one included, then opens the sign-in page. */
export function SignOutEverywhereButton() {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function signOutEverywhere() {
    setPending(true);
    setError(null);
    try {
      const response = await apiFetch("/api/auth/logout-all", { method: "POST" });
      if (!response.ok) {
        setError(await readErrorMessage(response));
        setPending(false);
        return;
      }
    } catch {
      setError("The server could not be reached. Check your connection and try again.");
      setPending(false);
      return;
    }
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <div className="space-y-3">
      <button type="button" onClick={signOutEverywhere} disabled={pending} className={`${secondaryButton} text-red-700 dark:text-red-300`}>
        {pending ? "Signing out everywhere…" : "Sign out everywhere"}
      </button>
      {error && (
        <p role="alert" className={errorBox}>
          {error}
        </p>
      )}
    </div>
  );
}
