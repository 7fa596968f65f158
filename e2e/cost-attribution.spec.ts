import { expect, test, type Page } from "@playwright/test";
import { MODEL_SERVER_URL } from "../playwright.config";

async function setModelBehaviour(page: Page, behaviour: Record<string, unknown>) {
  const response = await page.request.post(`${MODEL_SERVER_URL}/__control/behaviour`, { data: behaviour });
  expect(response.ok()).toBe(true);
}

async function signUp(page: Page) {
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(`e2e-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);
}

test.beforeEach(async ({ page }) => {
  await page.request.post(`${MODEL_SERVER_URL}/__control/reset`);
});

test("closing the tab mid-answer records an aborted call", async ({ page, context }) => {
  await signUp(page);
  await setModelBehaviour(page, { chunkDelayMs: 150, reply: "A slow answer that keeps going. ".repeat(20).trim() });
  const input = page.getByRole("textbox", { name: "Message" });
  await input.fill("Tell me a long story");
  await input.press("Enter");
  await expect(page.locator('[data-role="assistant"]').last()).toContainText("A slow answer");

  // A second page of the same browser keeps the session to read the usage afterwards.
  const reader = await context.newPage();
  await page.close();

  await expect
    .poll(async () => (await (await reader.request.get("/api/usage?days=1")).json()).recent[0]?.status, { timeout: 10_000 })
    .toBe("aborted");
  const [row] = (await (await reader.request.get("/api/usage?days=1")).json()).recent;
  expect(row.tokensIn).toBeGreaterThan(0);
  expect(row.tokensOut).toBeGreaterThan(0);
  expect(row.usageSource).toBe("estimated");

  const requests = await (await reader.request.get(`${MODEL_SERVER_URL}/__control/requests?waitForIdle=5000`)).json();
  expect(requests.at(-1).aborted).toBe(true);
});

test("the writing tool runs a task through the gate", async ({ page }) => {
  await signUp(page);
  await setModelBehaviour(page, { reply: "A shorter text." });
  await page.goto("/generate");
  await page.getByLabel("Text").fill("A text that goes on and on, longer than anyone needs it to be.");
  await page.getByLabel("Shorten").check();
  await page.getByRole("button", { name: "Run" }).click();

  await expect(page.getByTestId("generate-result")).toHaveText("A shorter text.");
  await page.screenshot({ path: "test-results/screens/generate.png", fullPage: true });
  const [row] = (await (await page.request.get("/api/usage?days=1")).json()).recent;
  expect(row).toMatchObject({ feature: "generate", status: "ok", usageSource: "reported" });
});
