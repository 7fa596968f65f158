"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { apiFetch, readErrorMessage } from "@/lib/client/api";

type Props = {
  userId: string;
  email: string;
  field: "plan" | "role";
  value: string;
  options: readonly string[];
  /** Reason the admin may not change this value, shown as the control's description. Unset when they may. */
  lockedReason?: string;
};

/** Changes one user's plan or role through the admin API, then re-renders the page with fresh data. */
export function UserSelect({ userId, email, field, value, options, lockedReason }: Props) {
  const router = useRouter();
  const [saving, setSaving] = useState(false);
  const [refreshing, startRefresh] = useTransition();
  const [error, setError] = useState<string | null>(null);
  // The choice is shown at once and replaced by the server's value when the refreshed page arrives.
  const [selected, setSelected] = useState(value);
  const [shownValue, setShownValue] = useState(value);
  if (shownValue !== value) {
    setShownValue(value);
    setSelected(value);
  }

  async function change(next: string) {
    setSelected(next);
    setSaving(true);
    setError(null);
    try {
      const response = await apiFetch(`/api/admin/users/${encodeURIComponent(userId)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ [field]: next }),
      });
      if (!response.ok) {
        setSelected(value);
        setError(await readErrorMessage(response));
        return;
      }
      startRefresh(() => router.refresh());
    } catch {
      setSelected(value);
      setError("The server could not be reached. Try again.");
    } finally {
      setSaving(false);
    }
  }

  const busy = saving || refreshing;
  const descriptionId = `${field}-${userId}-note`;
  return (
    <div className="space-y-1">
      <select
        aria-label={`${field === "plan" ? "Plan" : "Role"} for ${email}`}
        aria-describedby={lockedReason ? descriptionId : undefined}
        value={selected}
        disabled={busy || Boolean(lockedReason)}
        aria-busy={busy || undefined}
        onChange={(event) => void change(event.target.value)}
        className="rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm capitalize disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-950"
      >
        {options.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      {lockedReason && (
        <p id={descriptionId} className="max-w-40 text-xs text-zinc-500 dark:text-zinc-400">
          {lockedReason}
        </p>
      )}
      {error && (
        <p role="alert" className="max-w-48 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </div>
  );
}
