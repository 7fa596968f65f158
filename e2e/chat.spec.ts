import { expect, request, test, type Page } from "@playwright/test";
import { SignJWT, decodeJwt, decodeProtectedHeader } from "jose";
import playwrightConfig, { APP_URL, MODEL_SERVER_URL } from "../playwright.config";

// Browser tests of the chat screen. Everything they reach is the app and the local model server
// that playwright.config.ts starts on this machine.

const PASSWORD = "correct horse battery";
const ADMIN_EMAIL = "admin@example.test";

async function setModelBehaviour(page: Page, behaviour: Record<string, unknown>) {
  const response = await page.request.post(`${MODEL_SERVER_URL}/__control/behaviour`, { data: behaviour });
  expect(response.ok()).toBe(true);
}

async function resetModelServer(page: Page) {
  await page.request.post(`${MODEL_SERVER_URL}/__control/reset`);
}

type CapturedCall = { aborted: boolean; outcome: string; body: { model: string; max_tokens: number; messages: Array<{ role: string; content: string }> } };

/** Returns the model calls the local server received, once none is still running. */
async function modelCalls(page: Page): Promise<CapturedCall[]> {
  const response = await page.request.get(`${MODEL_SERVER_URL}/__control/requests?waitForIdle=10000`);
  expect(response.ok()).toBe(true);
  return response.json();
}

function uniqueEmail(): string {
  return `e2e-chat-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.test`;
}

async function signUp(page: Page): Promise<string> {
  const email = uniqueEmail();
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  return email;
}

/** Moves the signed-in user of `page` to another plan, through the admin API as the configured admin. */
async function setPlan(page: Page, plan: "free" | "pro" | "enterprise") {
  const me = await (await page.request.get("/api/me")).json();
  const admin = await request.newContext({ baseURL: APP_URL });
  let session = await admin.post("/api/auth/signup", { data: { email: ADMIN_EMAIL, password: PASSWORD } });
  if (session.status() === 409) session = await admin.post("/api/auth/login", { data: { email: ADMIN_EMAIL, password: PASSWORD } });
  expect(session.ok()).toBe(true);
  const changed = await admin.patch(`/api/admin/users/${me.user.id}`, { data: { plan } });
  expect(changed.ok()).toBe(true);
  await admin.dispose();
}

type UsageRow = { feature: string; model: string; status: string; chatId?: string | null };

async function usageToday(page: Page): Promise<{ today: { requests: number }; recent: UsageRow[] }> {
  return (await page.request.get("/api/usage?days=1")).json();
}

function appEnvironment(name: string): string {
  const servers = [playwrightConfig.webServer ?? []].flat();
  const value = servers.map((server) => server.env?.[name]).find((entry) => entry);
  if (!value) throw new Error(`playwright.config.ts sets no ${name} for the app server.`);
  return value;
}

/**
 * Replaces the page's access-token cookie with a copy that expired a minute ago, signed with the
 * app's test secret, so the next API call is rejected with 401 TOKEN_EXPIRED.
 */
async function expireAccessToken(page: Page) {
  const context = page.context();
  const cookie = (await context.cookies()).find((entry) => entry.name === "accessToken");
  if (!cookie) throw new Error("The page has no accessToken cookie: sign in first.");

  const header = decodeProtectedHeader(cookie.value);
  const claims = decodeJwt(cookie.value);
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ ...claims, iat: now - 16 * 60, exp: now - 60 })
    .setProtectedHeader({ alg: "HS256", kid: header.kid, typ: "JWT" })
    .sign(new TextEncoder().encode(appEnvironment("JWT_ACCESS_SECRET")));
  await context.addCookies([{ ...cookie, value: expired }]);
  return cookie.value;
}

/** Replaces the refresh-token cookie with a value the server rejects, so a refresh fails. */
async function breakRefreshToken(page: Page) {
  const context = page.context();
  const cookie = (await context.cookies()).find((entry) => entry.name === "refreshToken");
  if (!cookie) throw new Error("The page has no refreshToken cookie: sign in first.");
  await context.addCookies([{ ...cookie, value: "not-a-valid-token" }]);
}

function messageInput(page: Page) {
  return page.getByLabel("Message", { exact: true });
}

function answers(page: Page) {
  return page.locator('[data-role="assistant"]');
}

/** Locates the text bubbles of the user's messages, without the Edit button next to the last one. */
function questions(page: Page) {
  return page.locator('[data-role="user"] > div');
}

// The usage line under a finished answer, such as "66 tokens (8 prompt, 58 completion)". The
// local server's default reply contains the word "tokens" itself, so the word alone is no sign.
const USAGE_LINE = /\d[\d,]* tokens? \(\d[\d,]* prompt/;

/** Sends a message with Enter and waits for the answer's usage line. */
async function sendAndWait(page: Page, text: string) {
  const count = await answers(page).count();
  await messageInput(page).fill(text);
  await messageInput(page).press("Enter");
  await expect(answers(page).nth(count)).toContainText(USAGE_LINE, { timeout: 15_000 });
}

// Keeps the page's script-run flag and dialogs observable: an XSS payload that runs sets
// `window.__xss` or opens a dialog.
declare global {
  interface Window {
    __xss?: unknown;
  }
}

test.beforeEach(async ({ page }) => {
  await resetModelServer(page);
});

test.describe("answers", () => {
  test("render as Markdown with highlighted code and a copy button", async ({ page, context }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await signUp(page);
    await setModelBehaviour(page, {
      reply: [
        "## Shopping list",
        "",
        "- **apples**",
        "- *pears*",
        "",
        "| item | price |",
        "| --- | --- |",
        "| tea | 2 |",
        "",
        "Use `total` below:",
        "",
        "```ts",
        "const total: number = 2 + 3;",
        "```",
      ].join("\n"),
    });
    await sendAndWait(page, "Show me some Markdown");

    const answer = answers(page).last();
    await expect(answer.getByRole("heading", { level: 2, name: "Shopping list" })).toBeVisible();
    await expect(answer.locator("strong")).toHaveText("apples");
    await expect(answer.locator("em")).toHaveText("pears");
    await expect(answer.getByRole("cell", { name: "tea" })).toBeVisible();
    await expect(answer.locator(":not(pre) > code")).toHaveText("total");
    await expect(answer.locator("pre code.hljs")).toContainText("const total: number = 2 + 3;");
    await expect(answer.locator("pre .hljs-keyword").first()).toHaveText("const");
    await expect(answer.getByText("ts", { exact: true })).toBeVisible();

    await answer.getByRole("button", { name: "Copy code" }).click();
    await expect(answer.getByRole("button", { name: "Copied" })).toBeVisible();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied.trim()).toBe("const total: number = 2 + 3;");
    await expect(answer.getByRole("button", { name: "Copy code" })).toBeVisible({ timeout: 5_000 });
  });

  test("a model answer cannot run script in the page", async ({ page }) => {
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    // The Markdown image points at a closed port on this machine, and no request may go there.
    const imageRequests: string[] = [];
    page.on("request", (sent) => {
      if (sent.url().includes("127.0.0.1:9/")) imageRequests.push(sent.url());
    });

    await signUp(page);
    await setModelBehaviour(page, {
      reply: [
        "Picture: <img src=x onerror=\"window.__xss = 'img'; alert('img')\">",
        "",
        "<script>window.__xss = 'script'; alert('script')</script>",
        "",
        "[Click me](javascript:window.__xss='link')",
        "",
        "<a href=\"javascript:window.__xss='anchor'\">raw anchor</a>",
        "",
        "<javascript:window.__xss='autolink'>",
        "",
        "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "",
        "<iframe src=\"javascript:window.__xss='iframe'\"></iframe>",
        "",
        "![tracker](https://127.0.0.1:9/pixel.png?leak=secret)",
        "",
        "[a safe link](https://127.0.0.1:9/docs)",
      ].join("\n"),
    });
    await sendAndWait(page, "<img src=x onerror=\"window.__xss = 'question'\"> is my question");

    const checkNothingRan = async () => {
      const answer = answers(page).last();
      await expect(answer).toContainText("a safe link");
      expect(await page.evaluate(() => window.__xss)).toBeUndefined();
      expect(dialogs).toEqual([]);
      expect(imageRequests).toEqual([]);
      await expect(page.locator("ol[aria-label=Conversation] :is(img, script, iframe)")).toHaveCount(0);

      // Raw HTML is shown as text, never parsed.
      await expect(answer).toContainText("<img src=x onerror=");
      await expect(answer).toContainText("<script>window.__xss = 'script'");
      await expect(questions(page).last()).toContainText("<img src=x onerror=\"window.__xss = 'question'\">");

      // Only https links survive, and the others keep their text without a link.
      await expect(answer.getByText("Click me")).toBeVisible();
      await expect(answer.getByRole("link", { name: "Click me" })).toHaveCount(0);
      await expect(answer.getByRole("link", { name: "data link" })).toHaveCount(0);
      const hrefs = await answer.locator("a").evaluateAll((links) => links.map((link) => link.getAttribute("href")));
      expect(hrefs).toEqual(["https://127.0.0.1:9/pixel.png?leak=secret", "https://127.0.0.1:9/docs"]);
      // The image is offered as a link, not loaded.
      await expect(answer.getByRole("link", { name: "Image: tracker" })).toHaveAttribute("rel", "noopener noreferrer nofollow");
    };

    await checkNothingRan();
    // The stored answer is rendered again by the server on reload.
    await page.reload();
    await checkNothingRan();
  });
});

test.describe("stop, regenerate and edit", () => {
  test("Stop cancels the model call and the chat stays in the sidebar", async ({ page }) => {
    await signUp(page);
    await setModelBehaviour(page, { chunkDelayMs: 150, reply: "Slowly streamed words keep coming. ".repeat(30).trim() });
    await messageInput(page).fill("Tell me a long story");
    await messageInput(page).press("Enter");

    const answer = answers(page).last();
    await expect(answer).toContainText("Slowly streamed");
    await page.getByRole("button", { name: "Stop" }).click();
    await expect(answer).toContainText("Stopped.");
    await expect(messageInput(page)).toBeFocused();

    // The response headers named the chat before any text arrived.
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    await expect(page.getByRole("complementary", { name: "Chats" }).getByRole("link", { name: "Tell me a long story" })).toBeVisible();

    const [call] = await modelCalls(page);
    expect(call!.aborted).toBe(true);
    await expect.poll(async () => (await usageToday(page)).recent[0]?.status).toBe("aborted");

    await page.reload();
    await expect(answers(page).last()).toContainText("Slowly streamed");
  });

  test("Stop before the first word still keeps the chat", async ({ page }) => {
    await signUp(page);
    await setModelBehaviour(page, { firstChunkDelayMs: 8_000, reply: "Too late." });
    await messageInput(page).fill("Stopped before any answer");
    await messageInput(page).press("Enter");
    await expect(page.getByText("Waiting for the answer…")).toBeVisible();
    await page.waitForTimeout(800);
    await page.getByRole("button", { name: "Stop" }).click();

    await expect(page.getByRole("complementary", { name: "Chats" }).getByRole("link", { name: "Stopped before any answer" })).toBeVisible();
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    const [call] = await modelCalls(page);
    expect(call!.aborted).toBe(true);
  });

  test("Regenerate replaces the last answer with a new metered call", async ({ page }) => {
    await signUp(page);
    await setModelBehaviour(page, { reply: "The first answer." });
    await sendAndWait(page, "Answer me twice");

    await setModelBehaviour(page, { reply: "The second answer." });
    await page.getByRole("button", { name: "Regenerate" }).click();
    await expect(answers(page)).toHaveCount(1);
    await expect(answers(page).last()).toContainText("The second answer.");
    await expect(answers(page).last()).toContainText(USAGE_LINE);
    await expect(messageInput(page)).toBeFocused();

    const usage = await usageToday(page);
    expect(usage.recent.map((row) => `${row.feature}:${row.status}`)).toEqual(["chat:ok", "chat:ok"]);
    const calls = await modelCalls(page);
    expect(calls.at(-1)!.body.messages.map((message) => message.content)).toEqual(["Answer me twice"]);

    await page.reload();
    await expect(answers(page)).toHaveCount(1);
    await expect(answers(page).last()).toContainText("The second answer.");
  });

  test("Edit replaces the last message and answers the new text", async ({ page }) => {
    await signUp(page);
    await sendAndWait(page, "What is the capital of Australia, Sydney?");

    await page.getByRole("button", { name: "Edit" }).click();
    const editor = page.getByLabel("Edit message");
    await expect(editor).toBeFocused();
    await expect(editor).toHaveValue("What is the capital of Australia, Sydney?");
    await editor.press("Escape");
    await expect(editor).toBeHidden();
    await expect(messageInput(page)).toBeFocused();

    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Edit message").fill("What is the capital of Australia?");
    await page.getByLabel("Edit message").press("Enter");
    await expect(answers(page).last()).toContainText(USAGE_LINE, { timeout: 15_000 });
    await expect(questions(page)).toHaveCount(1);
    await expect(questions(page)).toHaveText("What is the capital of Australia?");

    const calls = await modelCalls(page);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body.messages.map((message) => message.content)).toEqual(["What is the capital of Australia?"]);
    expect((await usageToday(page)).today.requests).toBe(2);

    await page.reload();
    await expect(questions(page)).toHaveText("What is the capital of Australia?");
    await expect(answers(page)).toHaveCount(1);
  });
});

test.describe("sidebar", () => {
  test("new, search, rename and delete chats", async ({ page }) => {
    await signUp(page);
    const sidebar = page.getByRole("complementary", { name: "Chats" });

    await setModelBehaviour(page, { reply: "Use flour, eggs and milk." });
    await sendAndWait(page, "Recipe for pancakes");
    await sidebar.getByRole("link", { name: "New chat" }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(answers(page)).toHaveCount(0);
    await setModelBehaviour(page, { reply: "Cold and very dusty." });
    await sendAndWait(page, "Weather on Mars");
    await expect(sidebar.getByRole("listitem")).toHaveCount(2);

    const search = sidebar.getByLabel("Search chats");
    await search.fill("DUSTY");
    await expect(sidebar.getByRole("listitem")).toHaveCount(1);
    await expect(sidebar.getByRole("link", { name: "Weather on Mars" })).toBeVisible();
    await search.fill("pancakes");
    await expect(sidebar.getByRole("link", { name: "Recipe for pancakes" })).toBeVisible();
    await expect(sidebar.getByRole("listitem")).toHaveCount(1);
    await search.fill("volcano");
    await expect(sidebar.getByText("No chats match “volcano”.")).toBeVisible();
    await search.fill("");
    await expect(sidebar.getByRole("listitem")).toHaveCount(2);

    await sidebar.getByRole("button", { name: "Rename “Recipe for pancakes”" }).click();
    const titleInput = sidebar.getByLabel("New title");
    await expect(titleInput).toBeFocused();
    await titleInput.fill("Breakfast ideas");
    await titleInput.press("Enter");
    await expect(sidebar.getByRole("link", { name: "Breakfast ideas" })).toBeVisible();

    // Deleting the open chat asks first, then leaves for a new chat.
    await sidebar.getByRole("button", { name: "Delete “Weather on Mars”" }).click();
    await expect(sidebar.getByText("Delete “Weather on Mars”?")).toBeVisible();
    await sidebar.getByRole("button", { name: "Cancel" }).click();
    await expect(sidebar.getByRole("link", { name: "Weather on Mars" })).toBeVisible();
    await sidebar.getByRole("button", { name: "Delete “Weather on Mars”" }).click();
    await sidebar.getByRole("button", { name: "Delete", exact: true }).click();
    await expect(page).toHaveURL(/\/chat$/);
    await expect(sidebar.getByRole("link", { name: "Weather on Mars" })).toHaveCount(0);

    await page.reload();
    await expect(sidebar.getByRole("listitem")).toHaveCount(1);
    await expect(sidebar.getByRole("link", { name: "Breakfast ideas" })).toBeVisible();
    // Deleting a chat keeps its usage rows: both calls still count today.
    expect((await usageToday(page)).today.requests).toBe(2);
  });

  test("a new chat gets a generated title through the gate", async ({ page }) => {
    await signUp(page);
    // On the free plan a title call would take one of the three requests a minute, so the
    // gate leaves titles to plans with room for them.
    await setPlan(page, "pro");
    await setModelBehaviour(page, { reply: "Fluffy pancake method" });
    await sendAndWait(page, "how do I make really fluffy pancakes at home?");

    const sidebar = page.getByRole("complementary", { name: "Chats" });
    await expect(sidebar.getByRole("link", { name: "Fluffy pancake method" })).toBeVisible();
    const usage = await usageToday(page);
    expect(usage.recent.map((row) => `${row.feature}:${row.status}`).sort()).toEqual(["chat:ok", "title:ok"]);
    const titleCall = (await modelCalls(page)).at(-1)!;
    expect(titleCall.body.max_tokens).toBe(24);

    await page.reload();
    await expect(sidebar.getByRole("link", { name: "Fluffy pancake method" })).toBeVisible();
  });
});

test.describe("limits and session", () => {
  test("a 429 names the limit and counts down to its reset", async ({ page }) => {
    await signUp(page);
    for (const text of ["one", "two", "three"]) await sendAndWait(page, text);

    await messageInput(page).fill("one too many");
    await messageInput(page).press("Enter");
    const alert = page.getByRole("alert").filter({ hasText: "requests per minute" });
    await expect(alert).toContainText("Per-minute request limit reached");
    await expect(alert).toContainText("3 requests per minute");
    await expect(alert).not.toContainText("Try again in");

    const countdown = alert.getByTestId("limit-countdown");
    await expect(countdown).toContainText(/Resets in 0:\d\d/);
    const first = await countdown.innerText();
    await expect(countdown).not.toHaveText(first, { timeout: 3_000 });
    await expect(messageInput(page)).toHaveValue("one too many");
    await expect(messageInput(page)).toBeFocused();
    await expect(page.getByTestId("budget")).toContainText("17 of 20 requests left");
  });

  test("an expired access token is refreshed silently and the message still goes", async ({ page }) => {
    await signUp(page);
    const before = await expireAccessToken(page);
    const refreshes: number[] = [];
    page.on("response", (response) => {
      if (response.url().endsWith("/api/auth/refresh")) refreshes.push(response.status());
    });

    await sendAndWait(page, "Sent with an expired token");
    await expect(questions(page)).toHaveText("Sent with an expired token");
    expect(refreshes).toEqual([200]);
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    const after = (await page.context().cookies()).find((cookie) => cookie.name === "accessToken")!.value;
    expect(after).not.toBe(before);
    expect((await usageToday(page)).today.requests).toBe(1);
  });

  test("a failed refresh keeps the typed message through sign-in", async ({ page }) => {
    const email = await signUp(page);
    await expireAccessToken(page);
    await breakRefreshToken(page);

    await messageInput(page).fill("A draft that must survive");
    await messageInput(page).press("Enter");
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fchat$/);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();

    await expect(page).toHaveURL(/\/chat$/);
    await expect(messageInput(page)).toHaveValue("A draft that must survive");
    expect((await usageToday(page)).today.requests).toBe(0);
  });
});

test.describe("input and layout", () => {
  test("Enter sends, Shift+Enter adds a line, the input keeps focus", async ({ page }) => {
    await signUp(page);
    await setModelBehaviour(page, { chunkDelayMs: 40 });
    const input = messageInput(page);
    await expect(input).toBeFocused();

    await input.pressSequentially("line one");
    await input.press("Shift+Enter");
    await input.pressSequentially("line two");
    await expect(input).toHaveValue("line one\nline two");
    await expect(questions(page)).toHaveCount(0);

    await input.press("Enter");
    await expect(questions(page)).toHaveCount(1);
    expect(await questions(page).first().innerText()).toBe("line one\nline two");
    await expect(input).toHaveValue("");
    await expect(input).toBeFocused();
    // Typing goes on while the answer streams.
    await input.pressSequentially("next");
    await expect(answers(page).last()).toContainText(USAGE_LINE, { timeout: 15_000 });
    await expect(input).toBeFocused();
    await expect(input).toHaveValue("next");

    await page.getByRole("button", { name: "Send" }).click();
    await expect(questions(page)).toHaveCount(2);
    await expect(input).toBeFocused();
  });

  test("works at 375 px wide", async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 740 });
    await signUp(page);
    await setModelBehaviour(page, {
      reply: ["A long line of code:", "", "```js", `const numbers = [${Array.from({ length: 60 }, (_, index) => index).join(", ")}];`, "```"].join("\n"),
    });
    await sendAndWait(page, "A message on a narrow screen");

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const pre = answers(page).last().locator("pre");
    expect(await pre.evaluate((element) => element.scrollWidth > element.clientWidth)).toBe(true);
    await expect(messageInput(page)).toBeInViewport();
    await expect(page.getByTestId("budget")).toBeInViewport();

    await page.getByRole("button", { name: "Chats (1)" }).click();
    const sidebar = page.getByRole("complementary", { name: "Chats" });
    await expect(sidebar.getByRole("link", { name: "A message on a narrow screen" })).toBeVisible();
    await expect(sidebar.getByRole("button", { name: "Rename “A message on a narrow screen”" })).toBeVisible();
    await sidebar.getByRole("button", { name: "Close" }).click();
    await expect(sidebar).toBeHidden();
  });

  test("the model picker offers only the plan's models", async ({ page }) => {
    await signUp(page);
    const picker = page.getByLabel("Model");
    await expect(picker.locator("option")).toHaveText(["gpt-4o-mini", "gpt-4.1-nano"]);
    await sendAndWait(page, "On the free plan");

    // The plan changes while the page is open, and the list follows after the next answer.
    await setPlan(page, "pro");
    await sendAndWait(page, "Still here");
    await expect(picker.locator("option")).toHaveText(["gpt-4o-mini", "gpt-4.1-nano", "gpt-4.1-mini", "gpt-4o"]);

    await picker.selectOption("gpt-4o");
    await sendAndWait(page, "Now with the larger model");
    const calls = (await modelCalls(page)).filter((call) => call.body.max_tokens !== 24);
    expect(calls.map((call) => call.body.model)).toEqual(["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]);
    expect((await usageToday(page)).recent[0]).toMatchObject({ feature: "chat", model: "gpt-4o" });
  });
});

test.describe("screens", () => {
  const SHOTS = "test-results/screens";
  const answerWithCode = [
    "Here is a **typed** helper and the plan limits it reads:",
    "",
    "```ts",
    "export function remaining(limit: number, used: number): number {",
    "  // Never below zero, even after a refund arrives late.",
    "  return Math.max(0, limit - used);",
    "}",
    "```",
    "",
    "| plan | tokens per day |",
    "| --- | --- |",
    "| free | 5,000 |",
    "| pro | 50,000 |",
    "",
    "1. Reserve before the call.",
    "2. Settle in `finally`.",
  ].join("\n");

  test("chat at 1280 and 375 px, light and dark", async ({ page }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await signUp(page);
    await setPlan(page, "pro");
    await setModelBehaviour(page, { reply: "Limits and refunds" });
    await sendAndWait(page, "How should a gate count what is left of a daily budget?");
    await expect(page.getByRole("link", { name: "Limits and refunds" })).toBeVisible();
    await setModelBehaviour(page, { reply: answerWithCode });
    await sendAndWait(page, "Show me the helper in TypeScript");

    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: `${SHOTS}/chat-1280-${colorScheme}.png` });

      await page.getByRole("button", { name: "Edit" }).click();
      await page.screenshot({ path: `${SHOTS}/chat-edit-1280-${colorScheme}.png` });
      await page.getByLabel("Edit message").press("Escape");

      await page.setViewportSize({ width: 375, height: 760 });
      await page.screenshot({ path: `${SHOTS}/chat-375-${colorScheme}.png` });
      await page.getByRole("button", { name: /^Chats/ }).click();
      await page.screenshot({ path: `${SHOTS}/chat-sidebar-375-${colorScheme}.png` });
      await page.getByRole("complementary", { name: "Chats" }).getByRole("button", { name: "Close" }).click();
    }
  });

  test("rate limit countdown at 1280 and 375 px", async ({ page }) => {
    await signUp(page);
    for (const text of ["one", "two", "three"]) await sendAndWait(page, text);
    await messageInput(page).fill("one too many");
    await messageInput(page).press("Enter");
    await expect(page.getByTestId("limit-countdown")).toBeVisible();

    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: `${SHOTS}/chat-limit-1280-${colorScheme}.png` });
      await page.setViewportSize({ width: 375, height: 760 });
      await page.screenshot({ path: `${SHOTS}/chat-limit-375-${colorScheme}.png` });
    }
  });
});
