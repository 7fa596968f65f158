import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ACCESS_TOKEN_TTL_SECONDS,
  CLOCK_TOLERANCE_SECONDS,
  signAccessToken,
  VERIFIED_ACCESS_TOKENS_MAX,
  verifyAccessToken,
} from "@/lib/auth/tokens";
import { resetConfigForTests } from "@/lib/config";
import { configureTestEnvironment } from "@/tests/helpers";

beforeAll(() => configureTestEnvironment());

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function signFor(index = 0) {
  return signAccessToken({ sub: randomUUID(), email: `cache-${index}@example.test`, role: "user", plan: "free", tv: 0, fam: randomUUID() });
}

/** Counts the signature checks that jose hands to WebCrypto. */
function countSignatureChecks() {
  return vi.spyOn(crypto.subtle, "verify");
}

describe("verified access-token cache", () => {
  it("skips the signature check for a token seen again", async () => {
    const token = await signFor();
    const checks = countSignatureChecks();

    const first = await verifyAccessToken(token);
    const second = await verifyAccessToken(token);

    expect(first.ok).toBe(true);
    expect(second).toEqual(first);
    expect(checks).toHaveBeenCalledTimes(1);
  });

  it("rejects a cached token once expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const token = await signFor();
    expect((await verifyAccessToken(token)).ok).toBe(true);

    vi.setSystemTime(Date.now() + (ACCESS_TOKEN_TTL_SECONDS + CLOCK_TOLERANCE_SECONDS) * 1000);
    expect(await verifyAccessToken(token)).toEqual({ ok: false, reason: "TOKEN_EXPIRED" });
  });

  it("forgets every token when the secret changes", async () => {
    const token = await signFor();
    expect((await verifyAccessToken(token)).ok).toBe(true);

    const previous = process.env.JWT_ACCESS_SECRET;
    process.env.JWT_ACCESS_SECRET = randomBytes(48).toString("base64url");
    resetConfigForTests();
    try {
      expect(await verifyAccessToken(token)).toEqual({ ok: false, reason: "TOKEN_INVALID" });
    } finally {
      process.env.JWT_ACCESS_SECRET = previous;
      resetConfigForTests();
    }
  });

  it("never caches a rejected token", async () => {
    const token = await signFor();
    const tampered = `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`;
    const checks = countSignatureChecks();

    expect(await verifyAccessToken(tampered)).toEqual({ ok: false, reason: "TOKEN_INVALID" });
    expect(await verifyAccessToken(tampered)).toEqual({ ok: false, reason: "TOKEN_INVALID" });
    expect(checks).toHaveBeenCalledTimes(2);
  });

  it("drops the oldest token past the maximum", async () => {
    const tokens = await Promise.all(Array.from({ length: VERIFIED_ACCESS_TOKENS_MAX + 1 }, (_, index) => signFor(index)));
    for (const token of tokens) expect((await verifyAccessToken(token)).ok).toBe(true);
    const checks = countSignatureChecks();

    expect((await verifyAccessToken(tokens.at(-1))).ok).toBe(true);
    expect(checks).toHaveBeenCalledTimes(0);
    expect((await verifyAccessToken(tokens[0])).ok).toBe(true);
    expect(checks).toHaveBeenCalledTimes(1);
  });
});
