import { readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { callRoute, configureTestEnvironment } from "@/tests/helpers";

// Middleware does not guard API routes, so each handler must reject a request without a valid
// access token itself. Every route under app/api is found on disk, so a new one is covered too.
// The sign-in, sign-up, refresh and Google routes are public by design.
const PUBLIC_PREFIXES = ["app/api/auth/", "app/api/oauth/"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

function findRouteFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const entryPath = path.join(folder, entry.name);
    if (entry.isDirectory()) return findRouteFiles(entryPath);
    return entry.name === "route.ts" ? [entryPath] : [];
  });
}

const protectedRoutes = findRouteFiles("app/api")
  .map((file) => file.split(path.sep).join("/"))
  .filter((file) => !PUBLIC_PREFIXES.some((prefix) => file.startsWith(prefix)));

beforeAll(() => configureTestEnvironment());

describe("API routes without middleware", () => {
  it("finds the protected routes", () => {
    expect(protectedRoutes).toContain("app/api/chat/route.ts");
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(10);
  });

  it.each(protectedRoutes)("%s rejects a missing token", async (file) => {
    const routeModule = (await import(path.resolve(file))) as Partial<Record<(typeof METHODS)[number], Parameters<typeof callRoute>[0]>>;
    const handlers = METHODS.filter((method) => typeof routeModule[method] === "function");
    expect(handlers.length).toBeGreaterThan(0);

    for (const method of handlers) {
      const withoutToken = await callRoute(routeModule[method]!, { method, path: "/api/x", body: method === "GET" ? undefined : {}, params: { id: "x", chatId: "x" } });
      expect(withoutToken.status, `${method} ${file}`).toBe(401);
      expect((await withoutToken.json()).code, `${method} ${file}`).toBe("AUTH_REQUIRED");

      const forged = await callRoute(routeModule[method]!, { method, path: "/api/x", cookie: "accessToken=not.a.token", body: method === "GET" ? undefined : {}, params: { id: "x", chatId: "x" } });
      expect(forged.status, `${method} ${file}`).toBe(401);
      expect((await forged.json()).code, `${method} ${file}`).toBe("TOKEN_INVALID");
    }
  });
});
