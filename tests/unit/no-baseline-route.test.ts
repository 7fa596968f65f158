import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BASELINE_ROUTE_FILE, BASELINE_ROUTE_PATH } from "@/scripts/bench/baseline";

// The overhead benchmark compares POST /api/chat with a route that streams model answers without
// authentication or limits. That route must exist only in the benchmark's own build: shipped, it
// would let anyone spend the app's model credit.
const ROOT = path.resolve(__dirname, "../..");
const MANIFEST = path.join(ROOT, ".next", "server", "app-paths-manifest.json");
const BASELINE_HEADER = "x-bench-user-id";

function appSourceFiles(): string[] {
  return readdirSync(path.join(ROOT, "app"), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|js|mjs)$/.test(entry.name))
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
}

describe("benchmark baseline route", () => {
  it("is not in the app's source", () => {
    expect(existsSync(path.join(ROOT, BASELINE_ROUTE_FILE))).toBe(false);

    for (const file of appSourceFiles()) {
      const text = readFileSync(path.join(ROOT, file), "utf8");
      expect(text, file).not.toContain(BASELINE_ROUTE_PATH);
      expect(text, file).not.toContain(BASELINE_HEADER);
      expect(text, file).not.toMatch(/scripts\/bench/);
    }
  });

  // `npm test` builds before the unit tests, so this runs there; it is skipped without a build.
  it.skipIf(!existsSync(MANIFEST))("is not in the production build", () => {
    const routes = Object.keys(JSON.parse(readFileSync(MANIFEST, "utf8")) as Record<string, string>);

    expect(routes).toContain("/api/chat/route");
    expect(routes.filter((route) => route.startsWith(path.posix.dirname(BASELINE_ROUTE_PATH)))).toEqual([]);
  });
});
