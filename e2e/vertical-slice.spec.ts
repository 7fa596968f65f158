import { expect, test, type Page } from "@playwright/test";
import { MODEL_SERVER_URL } from "../playwright.config";

async function setModelBehaviour(page: Page, behaviour: Record<string, unknown>) {
  const response = await page.request.post(`${MODEL_SERVER_URL}/__control/behaviour`, { data: behaviour });
  expect(response.ok()).toBe(true);
}

function uniqueEmail(): string {
  return `e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;
}

async function signUp(page: Page) {
  const email = uniqueEmail();
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  return email;
}

test.beforeEach(async ({ page }) => {
  await page.request.post(`${MODEL_SERVER_URL}/__control/reset`);
});

test("a signed-out visitor is sent to sign-in", async ({ page }) => {
  await page.goto("/chat");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fchat$/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
});

test("sign up, chat with a streamed answer, see it on the dashboard", async ({ page, context }) => {
  const email = await signUp(page);

  // The session cookies are httpOnly: page scripts cannot read them.
  expect(await page.evaluate(() => document.cookie)).not.toContain("accessToken");
  const cookies = await context.cookies();
  expect(cookies.find((cookie) => cookie.name === "accessToken")?.httpOnly).toBe(true);
  expect(cookies.find((cookie) => cookie.name === "refreshToken")?.httpOnly).toBe(true);

  // Slow chunks, so the answer can be seen growing while it streams.
  await setModelBehaviour(page, { chunkDelayMs: 60, reply: "Tollgates meter every request. ".repeat(12).trim() });
  const input = page.getByRole("textbox", { name: "Message" });
  await input.fill("What does a tollgate do?");
  await input.press("Enter");

  const answer = page.locator('[data-role="assistant"]').last();
  await expect(page.getByRole("button", { name: "Stop" })).toBeVisible();
  await expect(answer).toContainText("Tollgates meter");
  const partial = (await answer.innerText()).length;
  await expect(answer).toContainText("tokens", { timeout: 15_000 });
  expect((await answer.innerText()).length).toBeGreaterThan(partial);
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
  await page.screenshot({ path: "test-results/screens/chat.png", fullPage: true });

  const usage = await (await page.request.get("/api/usage?days=30")).json();
  expect(usage.recent).toHaveLength(1);
  const [row] = usage.recent;
  expect(row).toMatchObject({ feature: "chat", model: "gpt-4o-mini", status: "ok", usageSource: "reported" });

  await page.getByRole("link", { name: "Usage" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  const recent = page.getByRole("table").filter({ hasText: "Latency" });
  await expect(recent.getByRole("row")).toHaveCount(2);
  await expect(recent.getByRole("row").nth(1)).toContainText("gpt-4o-mini");
  await expect(recent.getByRole("row").nth(1)).toContainText(String(row.tokensIn));
  await expect(recent.getByRole("row").nth(1)).toContainText(String(row.tokensOut));
  await expect(page.getByText(email)).toBeVisible();
  await page.screenshot({ path: "test-results/screens/dashboard.png", fullPage: true });
});

test("the plan's per-minute limit stops a fourth message", async ({ page }) => {
  await signUp(page);
  const input = page.getByRole("textbox", { name: "Message" });

  for (let index = 1; index <= 3; index++) {
    await input.fill(`message ${index}`);
    await input.press("Enter");
    await expect(page.locator('[data-role="assistant"]').nth(index - 1)).toContainText("tokens", { timeout: 15_000 });
  }

  await input.fill("one too many");
  await input.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "requests per minute" })).toContainText("3 requests per minute");
  // The refused message stays in the input, so nothing typed is lost.
  await expect(input).toHaveValue("one too many");
  await page.screenshot({ path: "test-results/screens/rate-limited.png", fullPage: true });

  const usage = await (await page.request.get("/api/usage?days=1")).json();
  expect(usage.today.requests).toBe(3);
});
