import { expect, test, type Page } from "@playwright/test";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { formatCount, formatInteger, formatUsd } from "@/lib/client/format";
import type { Database } from "@/lib/db/client";
import * as schema from "@/lib/db/schema";
import { insertUsageRow, type UsageRowInput } from "@/lib/usage/rows";

// The usage dashboard and the admin console against the production build, with their figures
// checked against the database. Usage rows are written with the app's own insertUsageRow, which
// also keeps the rollups, and today's limit counters are raised as settled calls would raise
// them. Screenshots of both pages at 1280 and 375 px, light and dark, go to test-results/screens/.

const databaseUrl = process.env.TEST_DATABASE_URL;
// The spec reads the database the app writes. PGlite serves one process only, so it needs
// PostgreSQL, which CI provides through TEST_DATABASE_URL.
test.skip(!databaseUrl, "Set TEST_DATABASE_URL: the figures are checked against the app's PostgreSQL database.");

const PASSWORD = "correct horse battery";
const DAY_MS = 24 * 60 * 60 * 1000;
const VIEWPORTS = [
  { width: 1280, height: 900 },
  { width: 375, height: 812 },
];

let client: postgres.Sql;
let db: Database;

test.beforeAll(() => {
  client = postgres(databaseUrl!, { max: 2, onnotice: () => {} });
  db = drizzle(client, { schema }) as unknown as Database;
});

test.afterAll(async () => {
  await client?.end();
});

function uniqueTag(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

async function signUp(page: Page, email: string) {
  await page.goto("/sign-up");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/chat$/);
  const [user] = await client<{ id: string }[]>`select id from users where email = ${email}`;
  return user!.id;
}

function startOfUtcDay(time: number): number {
  const date = new Date(time);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

/**
 * Returns a time between the start of today (UTC) and `now`, the `index`-th of `count`, so that
 * rows meant for today stay in today even when the test runs just after midnight. An exponent
 * above 1 spaces them unevenly, unlike a script's steady rhythm.
 */
function earlierToday(now: number, index: number, count: number, exponent = 1): Date {
  const start = startOfUtcDay(now);
  return new Date(start + Math.floor((now - start) * ((index + 1) / (count + 1)) ** exponent));
}

/**
 * Writes usage rows as the app does. Rows dated today are also added to the user's limit
 * counters, as the gate's reservation and settlement would have.
 */
async function recordUsage(rows: UsageRowInput[]) {
  const today = startOfUtcDay(Date.now());
  for (const row of rows) {
    await insertUsageRow(db, row);
    if (row.createdAt && row.createdAt.getTime() < today) continue;
    const day = new Date(today).toISOString().slice(0, 10);
    const expiresAt = new Date(today + 2 * DAY_MS).toISOString();
    await client`
      insert into limit_counters (user_id, day, requests, tokens, expires_at)
      values (${row.userId}, ${day}, 1, ${row.tokensIn + row.tokensOut}, ${expiresAt})
      on conflict (user_id, day) do update
      set requests = limit_counters.requests + 1, tokens = limit_counters.tokens + excluded.tokens`;
  }
}

function usageRow(userId: string, overrides: Partial<UsageRowInput>): UsageRowInput {
  return {
    userId,
    requestId: `req_e2e_${uniqueTag()}`,
    feature: "chat",
    model: "gpt-4o-mini",
    tokensIn: 120,
    tokensOut: 80,
    costMicros: 66,
    latencyMs: 900,
    status: "ok",
    usageSource: "reported",
    ...overrides,
  };
}

async function screenshotAll(page: Page, name: string) {
  for (const colorScheme of ["light", "dark"] as const) {
    for (const viewport of VIEWPORTS) {
      await page.emulateMedia({ colorScheme });
      await page.setViewportSize(viewport);
      // The chart measures its container after a resize. At the top, the sticky top bar sits
      // where it belongs in a full-page screenshot.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.waitForTimeout(300);
      await page.screenshot({ path: `test-results/screens/${name}-${viewport.width}-${colorScheme}.png`, fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize(VIEWPORTS[0]!);
}

test("dashboard figures match the database", async ({ page }) => {
  const userId = await signUp(page, `e2e-dashboard-${uniqueTag()}@example.test`);
  const now = Date.now();
  const today = startOfUtcDay(now);

  // History: requests on every third day of the last 29, two features and two models.
  const history: UsageRowInput[] = [];
  for (let daysAgo = 1; daysAgo < 30; daysAgo += 3) {
    const at = today - daysAgo * DAY_MS + 10 * 60 * 60 * 1000;
    history.push(usageRow(userId, { createdAt: new Date(at), tokensIn: 300 + daysAgo, tokensOut: 200, costMicros: 165 + daysAgo }));
    history.push(
      usageRow(userId, {
        createdAt: new Date(at + 60_000),
        feature: "generate",
        model: "gpt-4.1-nano",
        tokensIn: 90,
        tokensOut: 400,
        costMicros: 169,
        status: daysAgo === 7 ? "error" : "ok",
        usageSource: daysAgo === 7 ? "estimated" : "reported",
      }),
    );
  }
  // Today: 17 of the free plan's 20 requests, past the 80% warning.
  const todayRows = Array.from({ length: 17 }, (_, index) =>
    usageRow(userId, { createdAt: earlierToday(now, index, 17), tokensIn: 50 + index, tokensOut: 30 + index, costMicros: 40 + index }),
  );
  await recordUsage([...history, ...todayRows]);

  await page.goto("/dashboard");

  // Today against each limit, from the limit counters.
  const [counters] = await client<{ requests: number; tokens: string }[]>`
    select requests, tokens from limit_counters where user_id = ${userId} and day = ${new Date(today).toISOString().slice(0, 10)}`;
  await expect(page.getByRole("progressbar", { name: "Requests today" })).toHaveAttribute("aria-valuenow", String(counters!.requests));
  await expect(page.getByRole("progressbar", { name: "Tokens today" })).toHaveAttribute("aria-valuenow", String(Number(counters!.tokens)));
  const warning = page.getByRole("region", { name: "You have used over 80% of a limit" });
  await expect(warning).toContainText(`Requests today: ${counters!.requests} of 20 (85%)`);

  // Today's and the 30 days' totals, from the usage rows.
  const since = new Date(today - 29 * DAY_MS);
  const [totals] = await client<{ requests: string; tokens: string; cost: string; today_requests: string; today_tokens: string; today_cost: string }[]>`
    select count(*) as requests, sum(total_tokens) as tokens, sum(cost_micros) as cost,
           count(*) filter (where created_at >= ${new Date(today).toISOString()}) as today_requests,
           sum(total_tokens) filter (where created_at >= ${new Date(today).toISOString()}) as today_tokens,
           sum(cost_micros) filter (where created_at >= ${new Date(today).toISOString()}) as today_cost
    from llm_usage where user_id = ${userId} and created_at >= ${since.toISOString()}`;
  const line = (requests: string, tokens: string, cost: string) =>
    `${formatCount(Number(requests), "request")} · ${formatCount(Number(tokens), "token")} · ${formatUsd(Number(cost) / 1e6)}`;
  await expect(page.getByRole("region", { name: "Today" })).toContainText(line(totals!.today_requests, totals!.today_tokens, totals!.today_cost));
  await expect(page.getByRole("region", { name: "Last 30 days", exact: true })).toContainText(line(totals!.requests, totals!.tokens, totals!.cost));

  // One day of the chart, read from its table form.
  const chartDay = new Date(today - 4 * DAY_MS);
  const [dayTotals] = await client<{ requests: string; tokens: string }[]>`
    select count(*) as requests, sum(total_tokens) as tokens from llm_usage
    where user_id = ${userId} and created_at >= ${chartDay.toISOString()} and created_at < ${new Date(chartDay.getTime() + DAY_MS).toISOString()}`;
  await page.getByText("Show the figures as a table").click();
  const dayLabel = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" }).format(chartDay);
  const dayRow = page.getByRole("table", { name: "Requests, tokens and cost per UTC day" }).getByRole("row", { name: dayLabel, exact: false }).first();
  await expect(dayRow).toContainText(`${dayTotals!.requests}`);
  await expect(dayRow).toContainText(formatInteger(Number(dayTotals!.tokens)));

  // The breakdown by feature.
  const features = await client<{ feature: string; requests: string; tokens: string }[]>`
    select feature, count(*) as requests, sum(total_tokens) as tokens from llm_usage
    where user_id = ${userId} and created_at >= ${since.toISOString()} group by feature`;
  const featureTable = page.getByRole("table", { name: "By feature" });
  for (const feature of features) {
    const row = featureTable.getByRole("row", { name: new RegExp(`^${feature.feature}\\b`) });
    await expect(row).toContainText(formatInteger(Number(feature.requests)));
    await expect(row).toContainText(formatInteger(Number(feature.tokens)));
  }

  // Recent requests, newest first, 20 a page, and the next page through "Older".
  const newest = await client<{ tokens_in: number; tokens_out: number; model: string }[]>`
    select tokens_in, tokens_out, model from llm_usage where user_id = ${userId} order by created_at desc, id desc limit 21`;
  const recent = page.getByRole("table").filter({ hasText: "Latency" });
  await expect(recent.getByRole("row")).toHaveCount(21);
  await expect(recent.getByRole("row").nth(1)).toContainText(`${newest[0]!.tokens_in}`);
  await expect(recent.getByRole("row").nth(1)).toContainText(`${newest[0]!.tokens_out}`);
  await screenshotAll(page, "dashboard");

  await page.getByRole("link", { name: "Older" }).click();
  await expect(page).toHaveURL(/before=/);
  await expect(recent.getByRole("row").nth(1)).toContainText(newest[20]!.model);
  await expect(recent.getByRole("row").nth(1)).toContainText(`${newest[20]!.tokens_in}`);
  await page.getByRole("link", { name: "Newer" }).click();
  await expect(recent.getByRole("row").nth(1)).toContainText(`${newest[0]!.tokens_in}`);
});

test("empty dashboard says how to start", async ({ page }) => {
  await signUp(page, `e2e-empty-${uniqueTag()}@example.test`);
  await page.goto("/dashboard");
  await expect(page.getByRole("heading", { name: "No requests yet" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Start a chat" })).toHaveAttribute("href", "/chat");
  await page.emulateMedia({ colorScheme: "dark" });
  await page.setViewportSize(VIEWPORTS[1]!);
  await page.screenshot({ path: "test-results/screens/dashboard-empty-375-dark.png", fullPage: true });
});

test("admin console figures match the database", async ({ page }) => {
  const tag = uniqueTag();
  const adminEmail = `e2e-admin-${tag}@example.test`;
  const adminId = await signUp(page, adminEmail);
  await client`update users set role = 'admin' where id = ${adminId}`;

  // Three users of one tag: a script with a steady rhythm, a free user near the daily request
  // limit, and a quiet user with only older requests.
  const [script, busy, quiet] = await client<{ id: string; email: string }[]>`
    insert into users (email, plan) values
      (${`script-${tag}@example.test`}, 'enterprise'), (${`busy-${tag}@example.test`}, 'free'), (${`quiet-${tag}@example.test`}, 'pro')
    returning id, email`;
  const now = Date.now();
  await recordUsage([
    ...Array.from({ length: 30 }, (_, index) =>
      usageRow(script!.id, { createdAt: new Date(now - (index + 1) * 60_000), model: "gpt-4o", tokensIn: 400, tokensOut: 100, costMicros: 2_000 }),
    ),
    ...Array.from({ length: 17 }, (_, index) => usageRow(busy!.id, { createdAt: earlierToday(now, index, 17, 1.5) })),
    usageRow(quiet!.id, { createdAt: new Date(startOfUtcDay(now) - 2 * DAY_MS), costMicros: 5_000 }),
  ]);

  await page.goto("/admin");
  await expect(page.getByRole("heading", { name: "Admin", level: 1 })).toBeVisible();

  // The app's spend today, from the usage rows.
  const [spend] = await client<{ cost: string | null }[]>`select sum(cost_micros) as cost from llm_usage where created_at >= ${new Date(startOfUtcDay(now)).toISOString()}`;
  await expect(page.getByText("App spend today").locator("..")).toContainText(formatUsd(Number(spend!.cost ?? 0) / 1e6));

  // Search by keyboard: the field is labelled, and Enter submits it.
  const search = page.getByLabel("Search by email");
  await search.focus();
  await page.keyboard.type(tag);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`q=${tag}`));
  const table = page.getByRole("table").filter({ hasText: "Cost this month" });
  // The header row, the three users and the admin, whose address contains the tag too.
  await expect(table.getByRole("row")).toHaveCount(5);

  const figures = await client<{ email: string; today: string | null; month: string | null }[]>`
    select u.email,
           (select sum(cost_micros) from llm_usage l where l.user_id = u.id and l.created_at >= ${new Date(startOfUtcDay(now)).toISOString()}) as today,
           (select sum(cost_micros) from llm_usage l where l.user_id = u.id and l.created_at >= date_trunc('month', now() at time zone 'UTC') at time zone 'UTC') as month
    from users u where u.email like ${`%${tag}%`}`;
  for (const user of figures) {
    const row = table.getByRole("row", { name: new RegExp(user.email) });
    await expect(row).toContainText(formatUsd(Number(user.today ?? 0) / 1e6));
    await expect(row).toContainText(formatUsd(Number(user.month ?? 0) / 1e6));
  }
  await expect(table.getByRole("row", { name: new RegExp(script!.email) })).toContainText("Steady rhythm");
  await expect(table.getByRole("row", { name: new RegExp(busy!.email) })).toContainText("Near limit");
  await expect(table.getByRole("row", { name: new RegExp(quiet!.email) })).toContainText("None");

  // Sorting by this month's spend, highest first, as the database orders it.
  await table.getByRole("link", { name: /Cost this month/ }).click();
  await expect(table.getByRole("columnheader", { name: /Cost this month/ })).toHaveAttribute("aria-sort", "descending");
  const expectedOrder = [...figures]
    .sort((a, b) => Number(b.month ?? 0) - Number(a.month ?? 0) || (a.email < b.email ? -1 : 1))
    .map((user) => user.email);
  await expect(table.getByRole("rowheader")).toHaveText(expectedOrder.map((email) => new RegExp(email)));
  await screenshotAll(page, "admin");

  // A plan change is saved at once.
  await page.getByLabel(`Plan for ${busy!.email}`).selectOption("pro");
  await expect
    .poll(async () => (await client<{ plan: string }[]>`select plan from users where id = ${busy!.id}`)[0]!.plan)
    .toBe("pro");
  await expect(page.getByLabel(`Plan for ${busy!.email}`)).toHaveValue("pro");
  // The admin cannot demote themselves from here.
  await expect(page.getByLabel(`Role for ${adminEmail}`)).toBeDisabled();
});

test("non-admin gets 404 for the console", async ({ page }) => {
  await signUp(page, `e2e-not-admin-${uniqueTag()}@example.test`);
  const response = await page.goto("/admin");
  expect(response?.status()).toBe(404);
});
