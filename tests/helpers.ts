import { randomBytes } from "node:crypto";
import { resetConfigForTests } from "@/lib/config";

/**
 * Sets the environment every test needs: strong JWT secrets and, when a model server is given,
 * the OpenAI settings that point the real SDK at it. The database comes from the Vitest project
 * (in-memory PGlite, or TEST_DATABASE_URL).
 */
export function configureTestEnvironment(options: { openaiBaseUrl?: string; planLimits?: object; adminEmails?: string } = {}) {
  process.env.JWT_ACCESS_SECRET ||= randomBytes(48).toString("base64url");
  process.env.JWT_REFRESH_SECRET ||= randomBytes(48).toString("base64url");
  process.env.APP_URL = "http://localhost:3000";
  // callRoute sends each request from its own X-Forwarded-For address (see randomClientAddress).
  process.env.TRUST_PROXY = "1";
  if (options.openaiBaseUrl) {
    process.env.OPENAI_API_KEY = "sk-test-local";
    process.env.OPENAI_BASE_URL = options.openaiBaseUrl;
  } else {
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
  }
  if (options.planLimits) process.env.PLAN_LIMITS = JSON.stringify(options.planLimits);
  else delete process.env.PLAN_LIMITS;
  if (options.adminEmails) process.env.ADMIN_EMAILS = options.adminEmails;
  else delete process.env.ADMIN_EMAILS;
  resetConfigForTests();
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}@example.test`;
}

type RouteHandler = (request: Request, context: never) => Promise<Response>;

/**
 * Returns an address in the IPv6 documentation prefix with a random /64, so that per-address
 * sign-in and sign-up limits only trip in tests that send one address on purpose.
 */
export function randomClientAddress(): string {
  const group = () => randomBytes(2).toString("hex");
  return `2001:db8:${group()}:${group()}::1`;
}

/** Calls a route handler the way Next.js would, with a JSON body and a Cookie header. */
export function callRoute(
  handler: RouteHandler,
  options: {
    method?: string;
    path?: string;
    body?: unknown;
    rawBody?: string;
    cookie?: string;
    headers?: Record<string, string>;
    signal?: AbortSignal;
    params?: Record<string, string>;
  } = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.body !== undefined || options.rawBody !== undefined) headers.set("content-type", "application/json");
  if (options.cookie) headers.set("cookie", options.cookie);
  if (!headers.has("x-forwarded-for")) headers.set("x-forwarded-for", randomClientAddress());
  const request = new Request(`http://localhost:3000${options.path ?? "/"}`, {
    method: options.method ?? "POST",
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    signal: options.signal,
  });
  const context = { params: Promise.resolve(options.params ?? {}) } as never;
  return handler(request, context);
}

/** Turns a response's Set-Cookie headers into a Cookie header value for the next request. */
export function cookieHeader(response: Response, previous = ""): string {
  const jar = new Map(
    previous
      .split(";")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)] as const),
  );
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const separator = pair!.indexOf("=");
    const name = pair!.slice(0, separator);
    const value = pair!.slice(separator + 1);
    if (value === "" || /max-age=0/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

export type SseEvent =
  | { type: "delta"; text: string }
  | { type: "done"; usage: { promptTokens: number; completionTokens: number; totalTokens: number; costUsd: number }; chatId: string }
  | { type: "error"; code: string; error: string };

/** Reads a whole Server-Sent Events response into its parsed `data:` events. */
export async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((block) => block.trim())
    .filter((block) => block.startsWith("data: "))
    .map((block) => JSON.parse(block.slice("data: ".length)) as SseEvent);
}
