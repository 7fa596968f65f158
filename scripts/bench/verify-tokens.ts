/**
 * Micro-benchmark of access-token verification, as middleware runs it: `verifyAccessToken` from
 * lib/auth/tokens.ts, awaited one token after another. It times two cases apart, because
 * `verifyAccessToken` keeps the tokens that passed:
 *
 * - first sight: every token is new to the process, so each one gets the full signature and
 *   claims check. This is a session's first request to an app instance.
 * - seen before: a pool of 1,000 tokens, each verified many times, so all but the first pass come
 *   from the cache. This is every later request of a session while its access token lives.
 *
 * For comparison it also times jose's `jwtVerify` given a CryptoKey imported once.
 *
 * bench-overhead.ts starts it pinned to one CPU (`taskset -c 0`) and reads the JSON line it
 * prints last. The rates are per second of wall-clock time and per second of CPU time used
 * by the process (main thread and libuv's thread pool, where jose's WebCrypto runs), which another
 * busy process on the same core does not change.
 *
 *   npx tsx scripts/bench/verify-tokens.ts [--seconds 2] [--rounds 3]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { jwtVerify } from "jose";

const TOKEN_POOL_SIZE = 1_000;
// New tokens per first-sight round: more than the cache keeps, and about a second of work.
const FIRST_SIGHT_TOKENS = 20_000;

export type VerifyFigures = { perSecond: number; perCpuSecond: number };
export type VerifyReport = { firstSight: VerifyFigures[]; seenBefore: VerifyFigures[]; joseWithImportedKey: VerifyFigures[] };

/** Times one verification of each token in `tokens`, in turn. */
async function timeEach(tokens: string[], verifyOne: (token: string) => Promise<boolean>): Promise<VerifyFigures> {
  const cpuAtStart = process.cpuUsage();
  const startedAt = performance.now();
  for (const [index, token] of tokens.entries()) {
    if (!(await verifyOne(token))) throw new Error(`Token ${index} did not verify.`);
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  return { perSecond: tokens.length / elapsedSeconds, perCpuSecond: tokens.length / ((cpu.user + cpu.system) / 1e6) };
}

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

  const signTokens = (count: number) =>
    Promise.all(
      Array.from({ length: count }, (_, index) =>
        signAccessToken({ sub: randomUUID(), email: `verify-${index}@example.test`, role: "user", plan: "free", tv: 0, fam: randomUUID() }),
      ),
    );
  const tokens = await signTokens(TOKEN_POOL_SIZE);
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(process.env.JWT_ACCESS_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );

  const report: VerifyReport = { firstSight: [], seenBefore: [], joseWithImportedKey: [] };
  await timeLoop(0.5, async (index) => (await verifyAccessToken(tokens[index % TOKEN_POOL_SIZE])).ok);
  for (let round = 0; round < rounds; round++) {
    // Signed before the clock starts, and never verified before.
    const newTokens = await signTokens(FIRST_SIGHT_TOKENS);
    report.firstSight.push(await timeEach(newTokens, async (token) => (await verifyAccessToken(token)).ok));
    report.seenBefore.push(await timeLoop(seconds, async (index) => (await verifyAccessToken(tokens[index % TOKEN_POOL_SIZE])).ok));
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
