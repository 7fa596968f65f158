import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { POST as signup } from "@/app/api/auth/signup/route";
import { POST as chat } from "@/app/api/chat/route";
import { GET as me } from "@/app/api/me/route";
import { getDb } from "@/lib/db/client";
import { llmUsage } from "@/lib/db/schema";
import { callRoute, configureTestEnvironment, cookieHeader, readSse, uniqueEmail } from "@/tests/helpers";

// No OPENAI_API_KEY: the built-in demo model answers.
beforeAll(() => configureTestEnvironment());

describe("demo model", () => {
  it("streams an answer metered like a real model", async () => {
    const signedUp = await callRoute(signup, { body: { email: uniqueEmail(), password: "correct horse battery" } });
    const cookie = cookieHeader(signedUp);
    const userId = (await signedUp.json()).user.id;

    const profile = await (await callRoute(me, { method: "GET", cookie })).json();
    expect(profile.demo).toBe(true);
    expect(profile.models).toEqual(["tollgate-demo"]);

    const events = await readSse(await callRoute(chat, { body: { message: "What happens to my request?" }, cookie }));
    const text = events.flatMap((event) => (event.type === "delta" ? [event.text] : [])).join("");
    expect(text).toContain("demo model");
    expect(text).toContain("What happens to my request?");

    const done = events.at(-1)!;
    expect(done.type).toBe("done");
    const db = await getDb();
    const [row] = await db.select().from(llmUsage).where(eq(llmUsage.userId, userId));
    expect(row).toMatchObject({ model: "tollgate-demo", status: "ok", usageSource: "reported" });
    expect(row!.tokensOut).toBeGreaterThan(50);
    expect(row!.costMicros).toBeGreaterThan(0);
  });
});
