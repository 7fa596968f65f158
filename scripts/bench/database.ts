import { randomBytes } from "node:crypto";

const LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"];

/** Parses a service URL and rejects any host but the loopback interface. */
export function loopbackUrl(value: string, variable: string): URL {
  const url = new URL(value);
  if (!LOOPBACK_HOSTS.includes(url.hostname)) {
    throw new Error(`${variable} must point at this machine (127.0.0.1 or localhost), not ${url.hostname}: the benchmark loads only local servers.`);
  }
  return url;
}

/** Creates an empty database on the server of `adminUrl`, and returns its URL and a function that drops it. */
export async function createDatabase(adminUrl: URL, prefix = "tollgate_bench"): Promise<{ url: URL; drop: () => Promise<void> }> {
  const { default: postgres } = await import("postgres");
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url,
    drop: async () => {
      const dropper = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
