"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorBox, secondaryButton } from "@/components/ui/styles";
import { apiFetch, readErrorMessage } from "@/lib/client/api";

/** Removes the account's link to Google, then reloads the account page. */
export function UnlinkGoogleButton() {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function unlink() {
    setPending(true);
    setError(null);
    try {
      const response = await apiFetch("/api/me/google", { method: "DELETE" });
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
    setPending(false);
    // Drops ?linked=google from the address and loads the page again without the link.
    router.replace("/account");
    router.refresh();
  }

  return (
    <div className="space-y-3">
      <button type="button" onClick={unlink} disabled={pending} className={secondaryButton}>
        {pending ? "Unlinking…" : "Unlink Google"}
      </button>
      {error && (
        <p role="alert" className={errorBox}>
          {error}
        </p>
      )}
    </div>
  );
}
