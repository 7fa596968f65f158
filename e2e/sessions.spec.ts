import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, request as playwrightRequest, test, type APIResponse, type BrowserContext, type Page } from "@playwright/test";
import { SignJWT } from "jose";
import playwrightConfig, { APP_URL, MODEL_SERVER_URL } from "../playwright.config";

// Sessions against the production build: expired tokens on page loads, refresh races between real
// tabs and parallel requests, revocation, and the browser-facing defences.

const PASSWORD = "correct horse battery";
// A port of our own for the page that plays another site (see the CSRF test).
const ATTACKER_PORT = 3455;

function appSecret(name: "JWT_ACCESS_SECRET"): string {
  const servers = [playwrightConfig.webServer ?? []].flat();
  const secret = servers.map((server) => server.env?.[name]).find(Boolean);
  if (!secret) throw new Error(`${name} is not set for the app server in playwright.config.ts`);
  return secret;
}

function uniqueEmail(prefix = "e2e-session"): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;
}

async function signUp(page: Page, email = uniqueEmail()) {
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  return email;
}

async function signIn(page: Page, email: string) {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/chat$/);
}

async function readCookie(context: BrowserContext, name: string): Promise<string> {
  const cookie = (await context.cookies(APP_URL + "/api/auth")).find((entry) => entry.name === name);
  if (!cookie) throw new Error(`cookie ${name} is not set`);
  return cookie.value;
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
}

/** Signs an access token's claims again, expired 30 s ago, with the app's own key. */
async function expireToken(accessToken: string): Promise<string> {
  const claims = decodePayload(accessToken);
  delete claims.exp;
  delete claims.iat;
  const header = JSON.parse(Buffer.from(accessToken.split(".")[0]!, "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader(header)
    .setIssuedAt(now - 15 * 60 - 30)
    .setExpirationTime(now - 30)
    .sign(new TextEncoder().encode(appSecret("JWT_ACCESS_SECRET")));
}

/** Replaces the browser's access cookie with an expired one, leaving the refresh cookie alone. */
async function expireAccessToken(context: BrowserContext) {
  const expired = await expireToken(await readCookie(context, "accessToken"));
  await context.addCookies([{ name: "accessToken", value: expired, url: APP_URL, httpOnly: true, sameSite: "Lax" }]);
}

/** Parses the Set-Cookie headers of an API response into a Cookie header value. */
function cookiesOf(response: APIResponse): string {
  return response
    .headersArray()
    .filter(({ name }) => name.toLowerCase() === "set-cookie")
    .map(({ value }) => value.split(";")[0]!)
    .join("; ");
}

/** Sends one request with exactly the given cookies, from a fresh client with no cookie jar. */
async function sendWithCookies(method: "GET" | "POST", path: string, cookie: string) {
  const client = await playwrightRequest.newContext({ baseURL: APP_URL });
  const response = await client.fetch(path, { method, headers: { cookie }, maxRedirects: 0 });
  const result = { status: response.status(), cookie: cookiesOf(response), headers: response.headers(), body: await response.text() };
  await client.dispose();
  return result;
}

async function signUpByApi(): Promise<string> {
  const client = await playwrightRequest.newContext({ baseURL: APP_URL });
  const response = await client.post("/api/auth/signup", { data: { email: uniqueEmail("e2e-api"), password: PASSWORD } });
  expect(response.status()).toBe(201);
  const cookie = cookiesOf(response);
  await client.dispose();
  return cookie;
}

test.beforeEach(async ({ page }) => {
  await page.request.post(`${MODEL_SERVER_URL}/__control/reset`);
});

test.describe("expired access token on a page load", () => {
  test("renders signed in on that same load, with one rotation", async ({ page, context }) => {
    const email = await signUp(page);
    await expireAccessToken(context);
    const refreshBefore = await readCookie(context, "refreshToken");

    const visited: string[] = [];
    page.on("request", (request) => visited.push(`${request.method()} ${new URL(request.url()).pathname}`));
    await page.goto("/dashboard");

    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText(email)).toBeVisible();
    expect(visited.filter((entry) => entry.endsWith("/api/auth/refresh"))).toEqual(["GET /api/auth/refresh"]);
    expect(visited.some((entry) => entry.includes("/sign-in"))).toBe(false);

    // One consistent pair: one cookie of each name, a new refresh token, an unexpired access token.
    const cookies = await context.cookies(APP_URL + "/api/auth");
    expect(cookies.filter((cookie) => cookie.name === "accessToken")).toHaveLength(1);
    expect(cookies.filter((cookie) => cookie.name === "refreshToken")).toHaveLength(1);
    expect(await readCookie(context, "refreshToken")).not.toBe(refreshBefore);
    const access = decodePayload(await readCookie(context, "accessToken"));
    expect(access.exp as number).toBeGreaterThan(Date.now() / 1000);
    expect(access.fam).toBe(decodePayload(await readCookie(context, "refreshToken")).fam);

    // The next page load works with those cookies and rotates nothing.
    visited.length = 0;
    await page.getByRole("link", { name: "Account" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
    expect(visited.filter((entry) => entry.endsWith("/api/auth/refresh"))).toEqual([]);
  });

  test("a link followed after expiry loads the page signed in, with one rotation", async ({ page, context }) => {
    const email = await signUp(page);
    await expireAccessToken(context);

    const refreshes: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/auth/refresh") refreshes.push(request.method());
    });
    await page.getByRole("link", { name: "Usage" }).click();

    await expect(page).toHaveURL(/\/dashboard$/);
    await expect(page.getByText(email)).toBeVisible();
    expect(refreshes).toEqual(["GET"]);
  });

  test("goes to sign-in, never a 5xx, when no session can be refreshed", async ({ page, context }) => {
    for (const value of ["abc", ""]) {
      await context.clearCookies();
      await context.addCookies([{ name: "accessToken", value, url: APP_URL }]);
      const response = await page.goto("/chat");
      expect(response!.status()).toBeLessThan(500);
      await expect(page).toHaveURL(/\/sign-in\?next=%2Fchat$/);
    }
  });
});

test.describe("expired or malformed tokens on API routes", () => {
  test("answer 401 JSON, never a 5xx", async () => {
    const cookie = await signUpByApi();
    const access = cookie.split("; ").find((part) => part.startsWith("accessToken="))!.slice("accessToken=".length);
    const expiredWithoutRefresh = `accessToken=${await expireToken(access)}`;

    for (const sent of ["accessToken=abc", "accessToken=", expiredWithoutRefresh]) {
      for (const accept of ["application/json", "text/event-stream"]) {
        const client = await playwrightRequest.newContext({ baseURL: APP_URL });
        const response = await client.post("/api/chat", { headers: { cookie: sent, accept }, data: { message: "hi" } });
        expect(response.status()).toBe(401);
        expect(["AUTH_REQUIRED", "TOKEN_INVALID", "TOKEN_EXPIRED"]).toContain((await response.json()).code);
        await client.dispose();
      }
    }
  });
});

test.describe("refresh races", () => {
  for (const parallel of [2, 5]) {
    test(`${parallel} parallel refreshes with one token all get a working session`, async () => {
      const cookie = await signUpByApi();
      const results = await Promise.all(Array.from({ length: parallel }, () => sendWithCookies("POST", "/api/auth/refresh", cookie)));
      expect(results.map((result) => result.status)).toEqual(Array(parallel).fill(200));

      for (const result of results) {
        expect(result.cookie).toMatch(/accessToken=[^;]+; refreshToken=/);
        expect((await sendWithCookies("GET", "/api/me", result.cookie)).status).toBe(200);
        expect((await sendWithCookies("POST", "/api/auth/refresh", result.cookie)).status).toBe(200);
      }
    });
  }

  test("a refresh whose response was lost can be sent again", async () => {
    const cookie = await signUpByApi();
    // The first response is discarded unread, as if the connection dropped after the rotation.
    await sendWithCookies("POST", "/api/auth/refresh", cookie);
    const retry = await sendWithCookies("POST", "/api/auth/refresh", cookie);
    expect(retry.status).toBe(200);
    expect((await sendWithCookies("GET", "/api/me", retry.cookie)).status).toBe(200);
  });

  test("two tabs chatting after the access token expired share one refresh", async ({ context }) => {
    const tabA = await context.newPage();
    await signUp(tabA);
    const tabB = await context.newPage();
    await tabB.goto("/chat");
    await expireAccessToken(context);

    const refreshes: string[] = [];
    context.on("request", (request) => {
      if (new URL(request.url()).pathname === "/api/auth/refresh") refreshes.push(request.method());
    });

    const send = async (tab: Page, text: string) => {
      await tab.getByRole("textbox", { name: "Message" }).fill(text);
      await tab.getByRole("textbox", { name: "Message" }).press("Enter");
    };
    await Promise.all([send(tabA, "first tab asks"), send(tabB, "second tab asks")]);

    for (const tab of [tabA, tabB]) {
      await expect(tab.locator('[data-role="assistant"]').last()).toContainText("tokens", { timeout: 15_000 });
    }
    // The typed messages were sent after the silent refresh, not lost.
    const conversation = (tab: Page) => tab.getByRole("list", { name: "Conversation" });
    await expect(conversation(tabA).getByText("first tab asks", { exact: true })).toBeVisible();
    await expect(conversation(tabB).getByText("second tab asks", { exact: true })).toBeVisible();
    expect(refreshes).toEqual(["POST"]);

    for (const tab of [tabA, tabB]) {
      await tab.reload();
      await expect(tab).toHaveURL(/\/chat/);
      await expect(tab.getByRole("textbox", { name: "Message" })).toBeVisible();
    }
  });
});

test.describe("revocation", () => {
  test("sign-out refuses the old access token at once", async ({ page, context }) => {
    await signUp(page);
    const cookie = `accessToken=${await readCookie(context, "accessToken")}`;
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/sign-in/);

    const after = await sendWithCookies("GET", "/api/me", cookie);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.body).code).toBe("TOKEN_INVALID");
  });

  test("sign out everywhere from the account page ends the other device's session", async ({ page, browser }) => {
    const email = await signUp(page);
    const otherDevice = await browser.newContext();
    const otherPage = await otherDevice.newPage();
    await signIn(otherPage, email);

    await page.getByRole("link", { name: "Account" }).click();
    await expect(page.getByRole("heading", { name: "Signed-in devices (2)" })).toBeVisible();
    await expect(page.getByText("This browser")).toHaveCount(1);
    await page.screenshot({ path: "test-results/screens/account.png", fullPage: true });

    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await expect(page).toHaveURL(/\/sign-in/);

    const me = await otherPage.request.get("/api/me");
    expect(me.status()).toBe(401);
    expect((await me.json()).code).toBe("TOKEN_INVALID");
    await otherPage.goto("/chat");
    await expect(otherPage).toHaveURL(/\/sign-in/);
    await otherDevice.close();
  });
});

test.describe("browser defences", () => {
  test("pages and API responses carry the security headers", async ({ page }) => {
    const response = await page.goto("/sign-in");
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["content-security-policy"]).toContain("object-src 'none'");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");

    const api = await sendWithCookies("GET", "/api/me", "");
    expect(api.headers["x-content-type-options"]).toBe("nosniff");
  });

  test("another site cannot frame the app, nor act with its cookies", async ({ page, context }) => {
    await signUp(page);
    // The attacker's page is served from 127.0.0.1, another site than localhost for the browser.
    const attacker: Server = createServer((_request, response) => {
      response.setHeader("content-type", "text/html");
      response.end(`<!doctype html>
        <iframe id="framed" src="${APP_URL}/chat"></iframe>
        <form id="forged" method="post" action="${APP_URL}/api/auth/logout-all"></form>
        <script>
          fetch("${APP_URL}/api/auth/logout-all", { method: "POST", credentials: "include", mode: "no-cors" })
            .finally(() => { document.title = "sent"; });
        </script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(ATTACKER_PORT, "127.0.0.1", resolve));
    const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;

    try {
      const attackerPage = await context.newPage();
      await attackerPage.goto(attackerUrl);
      await expect(attackerPage).toHaveTitle("sent");
      const framed = attackerPage.frames().find((frame) => frame !== attackerPage.mainFrame());
      await expect.poll(() => framed?.url()).toMatch(/^chrome-error:/);

      await Promise.all([
        attackerPage.waitForURL(/\/api\/auth\/logout-all$/),
        attackerPage.locator("#forged").evaluate((form: HTMLFormElement) => form.submit()),
      ]);
    } finally {
      await new Promise((resolve) => attacker.close(resolve));
    }

    // The session survived both forged requests.
    const me = await page.request.get("/api/me");
    expect(me.status()).toBe(200);
  });

  test("a forged Origin is rejected even with valid cookies", async () => {
    const cookie = await signUpByApi();
    const client = await playwrightRequest.newContext({ baseURL: APP_URL });
    const response = await client.post("/api/auth/logout-all", { headers: { cookie, origin: "http://evil.localhost:3210" } });
    expect(response.status()).toBe(403);
    expect((await response.json()).code).toBe("INVALID_ORIGIN");
    await client.dispose();
    expect((await sendWithCookies("GET", "/api/me", cookie)).status).toBe(200);
  });
});

test.describe("credential attacks", () => {
  test("repeated wrong passwords lock sign-in with a clear message", async ({ page }) => {
    const email = uniqueEmail("e2e-guess");
    const client = await playwrightRequest.newContext({ baseURL: APP_URL });
    expect((await client.post("/api/auth/signup", { data: { email, password: PASSWORD } })).status()).toBe(201);
    for (let attempt = 0; attempt < 10; attempt++) {
      expect((await client.post("/api/auth/login", { data: { email, password: `guess ${attempt}` } })).status()).toBe(401);
    }
    const blocked = await client.post("/api/auth/login", { data: { email, password: PASSWORD } });
    expect(blocked.status()).toBe(429);
    expect(Number(blocked.headers()["retry-after"])).toBeGreaterThan(0);
    await client.dispose();

    await page.goto("/sign-in");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Too many attempts" })).toHaveText(
      "Too many attempts. Try again in 15 minutes.",
    );
    await page.screenshot({ path: "test-results/screens/sign-in-locked.png", fullPage: true });
  });

  test("sign-up refuses a common password", async ({ page }) => {
    await page.goto("/sign-up");
    await page.getByLabel("Email").fill(uniqueEmail());
    await page.getByLabel("Password").fill("Password123");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Invalid password" })).toContainText("one of the most common passwords");
    await expect(page).toHaveURL(/\/sign-up$/);
    await page.screenshot({ path: "test-results/screens/sign-up-common-password.png", fullPage: true });
  });
});
