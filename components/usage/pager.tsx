import Link from "next/link";
import type { ReactNode } from "react";

type Props = {
  /** Accessible name of the navigation landmark, such as "Recent requests pages". */
  label: string;
  previousLabel: string;
  nextLabel: string;
  /** Null when there is no such page. */
  previousHref: string | null;
  nextHref: string | null;
  status?: ReactNode;
};

const linkStyle =
  "inline-flex items-center rounded-lg border border-zinc-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800";
const disabledStyle =
  "inline-flex items-center rounded-lg border border-zinc-200 px-3 py-1.5 text-sm text-zinc-400 dark:border-zinc-800 dark:text-zinc-600";

/**
 * Links to the previous and next page, rendered as plain links so paging works without
 * JavaScript. A missing page shows as a disabled label. Scroll stays where it is.
 */
export function Pager({ label, previousLabel, nextLabel, previousHref, nextHref, status }: Props) {
  return (
    <nav aria-label={label} className="mt-3 flex flex-wrap items-center justify-between gap-2">
      {previousHref ? (
        <Link href={previousHref} scroll={false} className={linkStyle}>
          {previousLabel}
        </Link>
      ) : (
        <span aria-disabled="true" className={disabledStyle}>
          {previousLabel}
        </span>
      )}
      {status && <p className="text-sm text-zinc-600 tabular-nums dark:text-zinc-400">{status}</p>}
      {nextHref ? (
        <Link href={nextHref} scroll={false} className={linkStyle}>
          {nextLabel}
        </Link>
      ) : (
        <span aria-disabled="true" className={disabledStyle}>
          {nextLabel}
        </span>
      )}
    </nav>
  );
}
