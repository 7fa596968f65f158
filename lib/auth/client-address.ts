import { isIP } from "node:net";
import { logger } from "@/lib/log";

let warnedUnknownAddress = false;

/**
 * Returns the client's IP address for per-address limits, or null when it cannot be trusted.
 *
 * Next.js 15 hands route handlers no socket address: it only fills `x-forwarded-for` with the peer
 * address when the request arrived without that header, so a client talking to the app directly
 * can write any address it likes there. The header is therefore read only when `trustedProxies`
 * (TRUST_PROXY) sets how many proxies in front of the app append to it. Each proxy appends the
 * address it received the request from, so the client is the entry that many places from the right.
 *
 * IPv6 addresses are reduced to their /64 prefix, because one host is usually assigned a whole /64.
 */
export function resolveClientAddress(request: Request, trustedProxies: number): string | null {
  if (trustedProxies < 1) {
    if (!warnedUnknownAddress) {
      warnedUnknownAddress = true;
      logger.warn("client addresses are unknown because TRUST_PROXY is 0; per-address sign-in and sign-up limits count all clients together");
    }
    return null;
  }

  const entries = (request.headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const entry = entries[entries.length - trustedProxies];
  return entry ? normaliseAddress(entry) : null;
}

function normaliseAddress(value: string): string | null {
  let address = value;
  // "[2001:db8::1]:443" and "203.0.113.7:443" carry a port that is not part of the address.
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(":"));

  const mappedIpv4 = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i.exec(address);
  if (mappedIpv4) address = mappedIpv4[1]!;

  const version = isIP(address);
  if (version === 4) return address;
  if (version === 6) return `${ipv6Prefix64(address)}::/64`;
  return null;
}

/** Returns the first four groups of an IPv6 address, expanded and lower-cased. */
function ipv6Prefix64(address: string): string {
  const [head = "", tail = ""] = address.toLowerCase().split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(Math.max(missing, 0)).fill("0"), ...tailGroups];
  return groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":");
}
