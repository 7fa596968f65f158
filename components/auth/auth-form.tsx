"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { errorBox, primaryButton, secondaryButton, textInput } from "@/components/ui/styles";
import { readErrorMessage } from "@/lib/client/api";

// The server's rule (lib/auth/password-policy.ts), repeated so that the common-password list
// stays out of the browser bundle.
const MIN_PASSWORD_LENGTH = 8;

type Props = {
  mode: "sign-in" | "sign-up";
  /** Path to open after signing in. The page has already checked that it stays on this site. */
  nextPath: string;
  /** Link target of "Continue with Google", or null when Google sign-in is not configured. */
  googleHref: string | null;
  /** Message shown when the page opens, such as why a Google sign-in failed. */
  initialError: string | null;
};

export function AuthForm({ mode, nextPath, googleHref, initialError }: Props) {
  const router = useRouter();
  const passwordHintId = useId();
  const [error, setError] = useState<string | null>(initialError);
  const [pending, setPending] = useState(false);
  const signingUp = mode === "sign-up";

  async function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body: Record<string, string> = {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
    };
    const name = String(form.get("name") ?? "").trim();
    if (signingUp && name) body.name = name;

    setError(null);
    setPending(true);
    try {
      const response = await fetch(signingUp ? "/api/auth/signup" : "/api/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        setError(await readErrorMessage(response));
        setPending(false);
        return;
      }
      // The button stays disabled while the next page loads.
      router.replace(nextPath);
    } catch {
      setError("The server could not be reached. Check your connection and try again.");
      setPending(false);
    }
  }

  let submitLabel = signingUp ? "Create account" : "Sign in";
  if (pending) submitLabel = signingUp ? "Creating account…" : "Signing in…";

  const otherHref = `${signingUp ? "/sign-in" : "/sign-up"}${nextPath === "/chat" ? "" : `?next=${encodeURIComponent(nextPath)}`}`;

  return (
    <>
      <h1 className="text-xl font-semibold tracking-tight">{signingUp ? "Create your account" : "Sign in"}</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        {signingUp ? "New accounts start on the free plan." : "Welcome back."}
      </p>

      {googleHref && (
        <>
          {/* A plain link, not <Link>: the browser leaves for Google, so the router has nothing to do. */}
          <a href={googleHref} className={`${secondaryButton} mt-6 w-full`}>
            <GoogleMark />
            Continue with Google
          </a>
          <div className="mt-6 flex items-center gap-3 text-xs text-zinc-500 dark:text-zinc-400" aria-hidden="true">
            <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
            or with email
            <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
          </div>
        </>
      )}

      {/* noValidate: the API checks every field and its sentence is shown below, so the browser's
          own bubbles do not compete with it. The attributes still describe the fields.
          method="post": if the script has not loaded when the button is pressed, the browser
          submits the form itself, and a GET would put the password in the URL and the history. */}
      <form onSubmit={handleSubmit} method="post" noValidate className="mt-6 space-y-4">
        <div className="space-y-1.5">
          <label htmlFor="email" className="block text-sm font-medium">
            Email
          </label>
          <input id="email" name="email" type="email" autoComplete="email" required className={textInput} />
        </div>

        {signingUp && (
          <div className="space-y-1.5">
            <label htmlFor="name" className="block text-sm font-medium">
              Name <span className="font-normal text-zinc-500">(optional)</span>
            </label>
            <input id="name" name="name" type="text" autoComplete="name" maxLength={100} className={textInput} />
          </div>
        )}

        <div className="space-y-1.5">
          <label htmlFor="password" className="block text-sm font-medium">
            Password
          </label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete={signingUp ? "new-password" : "current-password"}
            required
            minLength={signingUp ? MIN_PASSWORD_LENGTH : undefined}
            aria-describedby={signingUp ? passwordHintId : undefined}
            className={textInput}
          />
          {signingUp && (
            <p id={passwordHintId} className="text-xs text-zinc-500 dark:text-zinc-400">
              At least {MIN_PASSWORD_LENGTH} characters, and not one of the most common passwords.
            </p>
          )}
        </div>

        {error && (
          <p role="alert" className={errorBox}>
            {error}
          </p>
        )}

        <button type="submit" disabled={pending} className={`${primaryButton} w-full`}>
          {submitLabel}
        </button>
      </form>

      <p className="mt-6 text-center text-sm text-zinc-600 dark:text-zinc-400">
        {signingUp ? "Already have an account? " : "New to Tollgate? "}
        <Link href={otherHref} className="font-medium text-indigo-600 hover:underline dark:text-indigo-400">
          {signingUp ? "Sign in" : "Create an account"}
        </Link>
      </p>
    </>
  );
}

/** Google's "G", in its four colours. */
function GoogleMark() {
  return (
    <svg viewBox="0 0 48 48" className="size-4" aria-hidden="true">
      <path fill="#EA4335" d="M24 9.5c3.5 0 6.6 1.2 9.1 3.6l6.8-6.8C35.8 2.4 30.3 0 24 0 14.6 0 6.6 5.4 2.7 13.3l7.9 6.1C12.5 13.6 17.8 9.5 24 9.5z" />
      <path fill="#4285F4" d="M46.1 24.5c0-1.6-.1-3.1-.4-4.5H24v9h12.4c-.5 2.9-2.2 5.3-4.6 6.9l7.4 5.8c4.3-4 6.9-9.9 6.9-17.2z" />
      <path fill="#FBBC05" d="M10.6 28.6c-.5-1.4-.8-3-.8-4.6s.3-3.2.8-4.6l-7.9-6.1C1 16.6 0 20.2 0 24s1 7.4 2.7 10.7l7.9-6.1z" />
      <path fill="#34A853" d="M24 48c6.5 0 11.9-2.1 15.9-5.8l-7.4-5.8c-2.1 1.4-4.8 2.3-8.5 2.3-6.2 0-11.5-4.1-13.4-9.9l-7.9 6.1C6.6 42.6 14.6 48 24 48z" />
    </svg>
  );
}
