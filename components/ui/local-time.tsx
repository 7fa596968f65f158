"use client";

import { useSyncExternalStore } from "react";

const subscribeToNothing = () => () => {};

/** False during server rendering and hydration, true afterwards. */
function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribeToNothing,
    () => true,
    () => false,
  );
}

const FORMATS = {
  time: { hour: "2-digit", minute: "2-digit", second: "2-digit" },
  "date-time": { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

type Props = { iso: string; format: keyof typeof FORMATS };

/**
 * Shows a time in the browser's time zone and locale. The server does not know that zone, so the
 * server render and hydration show UTC, and the local time replaces it right after hydration.
 */
export function LocalTime({ iso, format }: Props) {
  const hydrated = useHydrated();
  const date = new Date(iso);
  const options: Intl.DateTimeFormatOptions = hydrated ? FORMATS[format] : { ...FORMATS[format], timeZone: "UTC", timeZoneName: "short" };

  return (
    <time dateTime={iso} title={date.toISOString()}>
      {date.toLocaleString(hydrated ? undefined : "en-US", options)}
    </time>
  );
}
