"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { errorBox, secondaryButton } from "@/components/ui/styles";
import { apiFetch, readErrorMessage } from "@/lib/client/api";

type Props = {
  label: string;
  pendingLabel: string;
  /** API call the button makes, for example DELETE /api/me/google. */
  method: "POST" | "DELETE";
  path: string;
  /** Page to open once the call succeeds. */
  then: string;
  danger?: boolean;
};

/** Button that makes one API call, shows its error message, and opens another page on success. */
export function AccountActionButton({ label, pendingLabel, method, path, then, danger = false }: Props) {
  const router = useRouter();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run() {
    setPending(true);
    setError(null);
    try {
      const response = await apiFetch(path, { method });
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
    router.replace(then);
    router.refresh();
  }

  return (
    <div className="space-y-3">
      <button type="button" onClick={run} disabled={pending} className={danger ? `${secondaryButton} text-red-700 dark:text-red-300` : secondaryButton}>
        {pending ? pendingLabel : label}
      </button>
      {error && (
        <p role="alert" className={errorBox}>
          {error}
        </p>
      )}
    </div>
  );
}
