import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ACCESS_TOKEN_TTL_SECONDS,
  CLOCK_TOLERANCE_SECONDS,
  signAccessToken,
  VERIFIED_ACCESS_TOKENS_MAX,
  verifyAccessToken,
} from "@/lib/auth/tokens";
import { resetConfigForTests } from "@/lib/config";
import { configureTestEnvironment } from "@/tests/helpers";

// The HMAC that verification computes, wrapped so that the tests can count signature checks.
// Signing goes through jose and WebCrypto, so it does not count.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, createHmac: vi.fn((...args: Parameters<typeof actual.createHmac>) => actual.createHmac(...args)) };
});

beforeAll(() => configureTestEnvironment());

// Braces matter: a function returned from beforeEach would be run as its cleanup.
beforeEach(() => {
  vi.mocked(createHmac).mockClear();
});

afterEach(() => {
  vi.useRealTimers();
});

function signFor(index = 0) {
  return signAccessToken({ sub: randomUUID(), email: `cache-${index}@example.test`, role: "user", plan: "free", tv: 0, fam: randomUUID() });
}

/** Starts counting signature checks from zero. */
function countSignatureChecks() {
  vi.mocked(createHmac).mockClear();
  return vi.mocked(createHmac);
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

  it("empties itself past the maximum", async () => {
    const tokens = await Promise.all(Array.from({ length: VERIFIED_ACCESS_TOKENS_MAX + 1 }, (_, index) => signFor(index)));
    for (const token of tokens) expect((await verifyAccessToken(token)).ok).toBe(true);
    const checks = countSignatureChecks();

    // The last token went into the emptied cache; the ones before it were dropped.
    expect((await verifyAccessToken(tokens.at(-1))).ok).toBe(true);
    expect(checks).toHaveBeenCalledTimes(0);
    expect((await verifyAccessToken(tokens.at(-2))).ok).toBe(true);
    expect(checks).toHaveBeenCalledTimes(1);
  });
});
