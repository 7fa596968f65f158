import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test, type Page } from "@playwright/test";
import { APP_URL, MODEL_SERVER_URL, OIDC_SERVER_URL } from "../playwright.config";

// "Continue with Google" in Chromium, against the local OpenID Connect provider that replaces
// Google (e2e/oidc-server.ts). It runs on 127.0.0.1, another site than the app on localhost.

const PASSWORD = "correct horse battery";

function uniqueEmail(prefix = "e2e-google"): string {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;
}

/** Submits the provider's consent page as the given person. */
async function consentAs(page: Page, email: string, { verified = true, decision = "Continue" } = {}) {
  await expect(page).toHaveURL(new RegExp(`^${OIDC_SERVER_URL}/authorize`));
  await page.getByRole("textbox", { name: "Email" }).fill(email);
  await page.getByLabel("The provider has verified this email address").setChecked(verified);
  await page.getByRole("button", { name: decision }).click();
}

test.beforeEach(async ({ page }) => {
  await page.request.post(`${MODEL_SERVER_URL}/__control/reset`);
  await page.request.post(`${OIDC_SERVER_URL}/__control/reset`);
});

// The callback's cookies must reach the chat page that the redirect chain from Google ends on, and a
// later link from another site must open the app signed in.
test("Google sign-in lands signed in", async ({ page }) => {
  const email = uniqueEmail();
  // Every document the tab loads, redirects included.
  const loaded: string[] = [];
  page.on("request", (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) loaded.push(new URL(request.url()).pathname);
  });

  await page.goto("/sign-in");
  await page.screenshot({ path: "test-results/screens/sign-in-google.png", fullPage: true });
  await page.getByRole("link", { name: "Continue with Google" }).click();
  await consentAs(page, email);

  // Signed in on the first load after the callback: no detour through sign-in or refresh.
  await expect(page).toHaveURL(`${APP_URL}/chat`);
  const input = page.getByRole("textbox", { name: "Message" });
  await expect(input).toBeVisible();
  const afterConsent = loaded.slice(loaded.lastIndexOf("/authorize") + 1);
  expect(afterConsent).toEqual(["/api/oauth/callback/google", "/chat"]);

  await input.fill("Who pays for this answer?");
  await input.press("Enter");
  await expect(page.locator('[data-role="assistant"]').last()).toContainText("tokens", { timeout: 15_000 });

  const me = await (await page.request.get("/api/me")).json();
  expect(me.user.email).toBe(email);
  const usage = await (await page.request.get("/api/usage?days=1")).json();
  expect(usage.recent).toHaveLength(1);
  expect(usage.recent[0]).toMatchObject({ feature: "chat", status: "ok" });

  // A link to the app on another site opens it signed in (the cookies are SameSite=Lax).
  const otherSite = createServer((_request, response) => {
    response.setHeader("content-type", "text/html");
    response.end(`<!doctype html><a href="${APP_URL}/chat">Open Tollgate</a>`);
  });
  await new Promise<void>((resolve) => otherSite.listen(0, "127.0.0.1", resolve));
  try {
    await page.goto(`http://127.0.0.1:${(otherSite.address() as AddressInfo).port}/`);
    await page.getByRole("link", { name: "Open Tollgate" }).click();
    await expect(page).toHaveURL(`${APP_URL}/chat`);
    await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  } finally {
    await new Promise((resolve) => otherSite.close(resolve));
  }
});

test("cancelled consent is explained", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByRole("link", { name: "Continue with Google" }).click();
  await consentAs(page, uniqueEmail(), { decision: "Cancel" });

  await expect(page).toHaveURL(/\/sign-in\?error=GOOGLE_DENIED$/);
  await expect(page.getByRole("alert").filter({ hasText: "Google sign-in was cancelled" })).toBeVisible();

  await page.getByRole("link", { name: "Continue with Google" }).click();
  await consentAs(page, uniqueEmail());
  await expect(page).toHaveURL(`${APP_URL}/chat`);
});

test("provider outage is explained", async ({ page }) => {
  await page.request.post(`${OIDC_SERVER_URL}/__control/outage`, { data: { down: true } });
  await page.goto("/sign-in?next=%2Fdashboard");
  await page.getByRole("link", { name: "Continue with Google" }).click();

  await expect(page).toHaveURL(/\/sign-in\?error=GOOGLE_UNAVAILABLE&next=%2Fdashboard$/);
  await expect(page.getByRole("alert").filter({ hasText: "Google could not be reached" })).toBeVisible();
  await page.screenshot({ path: "test-results/screens/sign-in-google-error.png", fullPage: true });
});

test("password account links only by owner", async ({ page, browser }) => {
  const email = uniqueEmail("e2e-casey");
  await page.goto("/sign-up");
  await page.getByRole("textbox", { name: "Email" }).fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);

  // Someone else, in another browser, continues with Google as the same address.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto(`${APP_URL}/sign-in`);
  await strangerPage.getByRole("link", { name: "Continue with Google" }).click();
  await consentAs(strangerPage, email.toUpperCase());
  await expect(strangerPage).toHaveURL(/\/sign-in\?error=GOOGLE_EMAIL_TAKEN$/);
  await expect(strangerPage.getByRole("alert").filter({ hasText: "Sign in with its password" })).toBeVisible();
  expect((await strangerPage.request.get(`${APP_URL}/api/me`)).status()).toBe(401);
  await stranger.close();

  // The owner links Google from the account page.
  await page.goto("/account");
  await page.getByRole("link", { name: "Link Google account" }).click();
  await consentAs(page, email);
  await expect(page).toHaveURL(/\/account\?linked=google$/);
  await expect(page.getByRole("status").filter({ hasText: "Google is linked" })).toBeVisible();
  await page.screenshot({ path: "test-results/screens/account-google-linked.png", fullPage: true });

  // The owner can take the link back: Google then no longer reaches the account.
  await page.getByRole("button", { name: "Unlink Google" }).click();
  await expect(page).toHaveURL(`${APP_URL}/account`);
  await expect(page.getByRole("link", { name: "Link Google account" })).toBeVisible();
});
