"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { apiFetch, readErrorMessage } from "@/lib/client/api";

type Props = { userId: string; email: string; plan: string; planNames: readonly string[] };

/** Changes one user's plan through the admin API, then re-renders the page with fresh data. */
export function PlanSelect({ userId, email, plan, planNames }: Props) {
  const router = useRouter();
  const [saving, setSaving] = useState(false);
  const [refreshing, startRefresh] = useTransition();
  const [error, setError] = useState<string | null>(null);
  // The choice is shown at once and replaced by the server's value when the refreshed page arrives.
  const [selected, setSelected] = useState(plan);
  const [shownPlan, setShownPlan] = useState(plan);
  if (shownPlan !== plan) {
    setShownPlan(plan);
    setSelected(plan);
  }

  async function changePlan(nextPlan: string) {
    setSelected(nextPlan);
    setSaving(true);
    setError(null);
    try {
      const response = await apiFetch(`/api/admin/users/${encodeURIComponent(userId)}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ plan: nextPlan }),
      });
      if (!response.ok) {
        setSelected(plan);
        setError(await readErrorMessage(response));
        return;
      }
      startRefresh(() => router.refresh());
    } catch {
      setSelected(plan);
      setError("The server could not be reached. Try again.");
    } finally {
      setSaving(false);
    }
  }

  const busy = saving || refreshing;
  return (
    <div className="space-y-1">
      <select
        aria-label={`Plan for ${email}`}
        value={selected}
        disabled={busy}
        aria-busy={busy || undefined}
        onChange={(event) => void changePlan(event.target.value)}
        className="rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm capitalize disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-950"
      >
        {planNames.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      {error && (
        <p role="alert" className="max-w-48 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </div>
  );
}
