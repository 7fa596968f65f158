import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { WritingTool } from "@/components/generate/writing-tool";
import { getCurrentUser } from "@/lib/auth/current-user";
import { getConfig } from "@/lib/config";

export const metadata: Metadata = { title: "Write" };

export default async function GeneratePage() {
  const user = await getCurrentUser();
  if (!user) redirect("/sign-in?next=/generate");

  return (
    <main className="mx-auto w-full max-w-3xl space-y-6 px-4 py-6 sm:py-8">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Write</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Improve, summarise or shorten a text. Each run is one request against your plan, recorded on the usage
          dashboard as the &ldquo;generate&rdquo; feature.
        </p>
      </div>
      <WritingTool demo={getConfig().llm.kind === "demo"} />
    </main>
  );
}
