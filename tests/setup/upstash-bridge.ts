import { randomBytes } from "node:crypto";
import { afterAll } from "vitest";
import { startUpstashBridge } from "@/tests/upstash-bridge";

// Setup file of the "upstash" Vitest project. Each test file gets its own bridge in front of
// TEST_REDIS_URL and its own key prefix. The app reads both from the environment, as it would
// read a real Upstash database's URL and token.
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) throw new Error("The upstash project needs TEST_REDIS_URL, such as redis://127.0.0.1:6379.");

const bridge = await startUpstashBridge({ redisUrl, token: randomBytes(24).toString("base64url") });
process.env.UPSTASH_REDIS_REST_URL = bridge.url;
process.env.UPSTASH_REDIS_REST_TOKEN = bridge.token;
process.env.UPSTASH_KEY_PREFIX = `test-${randomBytes(6).toString("hex")}`;

afterAll(() => bridge.close());
