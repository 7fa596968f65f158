import Link from "next/link";
import { redirect } from "next/navigation";
import { getCurrentUser } from "@/lib/auth/current-user";

export default async function LandingPage() {
  if (await getCurrentUser()) redirect("/chat");

  return (
    <main className="mx-auto flex min-h-dvh max-w-2xl flex-col justify-center px-6 py-16">
      <p className="text-sm font-semibold tracking-wide text-indigo-600 uppercase dark:text-indigo-400">Tollgate</p>
      <h1 className="mt-3 text-4xl font-bold tracking-tight sm:text-5xl">Chat with an LLM, within a budget.</h1>
      <p className="mt-6 text-lg leading-relaxed text-zinc-600 dark:text-zinc-400">
        Tollgate is a chat app in which every message to the model passes one gate that knows who you are and what
        your plan allows. Each request is checked against your limits before it runs, and its tokens and cost are
        recorded for you to see.
      </p>
      <div className="mt-10 flex flex-wrap gap-3">
        <Link
          href="/sign-in"
          className="rounded-lg bg-indigo-600 px-5 py-2.5 font-medium text-white shadow-sm hover:bg-indigo-500"
        >
          Sign in
        </Link>
        <Link
          href="/sign-up"
          className="rounded-lg border border-zinc-300 bg-white px-5 py-2.5 font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
        >
          Create account
        </Link>
      </div>
    </main>
  );
}
