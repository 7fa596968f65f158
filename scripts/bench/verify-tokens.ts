/**
 * Micro-benchmark of access-token verification, as middleware runs it: `verifyAccessToken` from
 * lib/auth/tokens.ts, awaited one token after another over a pool of distinct tokens. For
 * comparison it also times jose's `jwtVerify` given a CryptoKey imported once, which is the
 * cost left when the key is not imported again for every token (jose imports a raw key on
 * every call).
 *
 * bench-overhead.ts starts it pinned to one CPU (`taskset -c 0`) and reads the JSON line it
 * prints last. The rates are per second of wall-clock time and per second of CPU time used
 * by the process (main thread and libuv's thread pool, where WebCrypto runs), which another
 * busy process on the same core does not change.
 *
 *   npx tsx scripts/bench/verify-tokens.ts [--seconds 2] [--rounds 3]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { jwtVerify } from "jose";

const TOKEN_POOL_SIZE = 1_000;

export type VerifyFigures = { perSecond: number; perCpuSecond: number };
export type VerifyReport = { verifyAccessToken: VerifyFigures[]; joseWithImportedKey: VerifyFigures[] };

async function timeLoop(seconds: number, verifyOne: (index: number) => Promise<boolean>): Promise<VerifyFigures> {
  let verified = 0;
  const cpuAtStart = process.cpuUsage();
  const startedAt = performance.now();
  const endsAt = startedAt + seconds * 1000;
  while (performance.now() < endsAt) {
    if (!(await verifyOne(verified))) throw new Error(`Token ${verified} did not verify.`);
    verified += 1;
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  return { perSecond: verified / elapsedSeconds, perCpuSecond: verified / ((cpu.user + cpu.system) / 1e6) };
}

async function main() {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "2" }, rounds: { type: "string", default: "3" } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (!(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) throw new Error("Invalid --seconds or --rounds: expected positive numbers.");

  // Secrets of this process only; the tokens never leave it.
  process.env.JWT_ACCESS_SECRET = randomBytes(48).toString("base64url");
  process.env.JWT_REFRESH_SECRET = randomBytes(48).toString("base64url");
  const { signAccessToken, verifyAccessToken } = await import("@/lib/auth/tokens");

  const tokens = await Promise.all(
    Array.from({ length: TOKEN_POOL_SIZE }, (_, index) =>
      signAccessToken({ sub: randomUUID(), email: `verify-${index}@example.test`, role: "user", plan: "free", tv: 0, fam: randomUUID() }),
    ),
  );
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(process.env.JWT_ACCESS_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );

  const report: VerifyReport = { verifyAccessToken: [], joseWithImportedKey: [] };
  await timeLoop(0.5, async (index) => (await verifyAccessToken(tokens[index % TOKEN_POOL_SIZE])).ok);
  for (let round = 0; round < rounds; round++) {
    report.verifyAccessToken.push(await timeLoop(seconds, async (index) => (await verifyAccessToken(tokens[index % TOKEN_POOL_SIZE])).ok));
    report.joseWithImportedKey.push(
      await timeLoop(seconds, async (index) => {
        const { payload } = await jwtVerify(tokens[index % TOKEN_POOL_SIZE]!, key, { algorithms: ["HS256"] });
        return typeof payload.sub === "string";
      }),
    );
  }
  console.log(JSON.stringify(report));
}

main().catch((error: unknown) => {
  console.error("verify-tokens failed:", error);
  process.exit(1);
});
