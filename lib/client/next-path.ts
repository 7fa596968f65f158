/**
 * Returns `value` when it is a path on this site, otherwise `fallback`. Only a single leading
 * "/" is accepted: "//host" and "/\host" are read by browsers as another host.
 */
export function safeNextPath(value: string | null | undefined, fallback = "/chat"): string {
  if (!value || !value.startsWith("/")) return fallback;
  if (value.startsWith("//") || value.startsWith("/\\")) return fallback;
  return value;
}
