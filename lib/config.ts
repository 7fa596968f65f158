import { z } from "zod";
import { parsePlanLimits, type PlanTable } from "@/lib/limits/plans";
import { DEMO_MODEL, parseModelPrices, type PriceTable } from "@/lib/llm/models";

/**
 * The only reader of `process.env`. Each variable is named explicitly (not read through a spread
 * of `process.env`) so that Next.js can inline it into bundles that run outside Node, such as
 * middleware on the Edge runtime.
 */
function readEnvironment() {
  return {
    NODE_ENV: process.env.NODE_ENV,
    APP_URL: process.env.APP_URL,
    DATABASE_URL: process.env.DATABASE_URL,
    PGLITE_DIR: process.env.PGLITE_DIR,
    OPENAI_API_KEY: process.env.OPENAI_API_KEY,
    OPENAI_BASE_URL: process.env.OPENAI_BASE_URL,
    OPENAI_MODEL: process.env.OPENAI_MODEL,
    OPENAI_TIMEOUT_MS: process.env.OPENAI_TIMEOUT_MS,
    MODEL_PRICES: process.env.MODEL_PRICES,
    JWT_ACCESS_SECRET: process.env.JWT_ACCESS_SECRET,
    JWT_REFRESH_SECRET: process.env.JWT_REFRESH_SECRET,
    JWT_ACCESS_SECRET_PREVIOUS: process.env.JWT_ACCESS_SECRET_PREVIOUS,
    JWT_REFRESH_SECRET_PREVIOUS: process.env.JWT_REFRESH_SECRET_PREVIOUS,
    TRUST_PROXY: process.env.TRUST_PROXY,
    PLAN_LIMITS: process.env.PLAN_LIMITS,
    ADMIN_EMAILS: process.env.ADMIN_EMAILS,
    UPSTASH_REDIS_REST_URL: process.env.UPSTASH_REDIS_REST_URL,
    UPSTASH_REDIS_REST_TOKEN: process.env.UPSTASH_REDIS_REST_TOKEN,
    UPSTASH_KEY_PREFIX: process.env.UPSTASH_KEY_PREFIX,
    GLOBAL_DAILY_SPEND_CAP_USD: process.env.GLOBAL_DAILY_SPEND_CAP_USD,
    AUTH_SECRET: process.env.AUTH_SECRET,
    AUTH_GOOGLE_ID: process.env.AUTH_GOOGLE_ID,
    AUTH_GOOGLE_SECRET: process.env.AUTH_GOOGLE_SECRET,
    AUTH_GOOGLE_ISSUER: process.env.AUTH_GOOGLE_ISSUER,
    LOG_LEVEL: process.env.LOG_LEVEL,
  };
}

const MIN_SECRET_BYTES = 32;
const GOOGLE_ISSUER = "https://accounts.google.com";

// Empty strings count as unset, so `FOO=` in an .env file behaves like leaving FOO out.
const optionalString = z.preprocess(
  (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
  z.string().trim().optional(),
);

const secret = optionalString.refine(
  (value) => value === undefined || new TextEncoder().encode(value).length >= MIN_SECRET_BYTES,
  { message: `must be at least ${MIN_SECRET_BYTES} bytes; generate one with \`openssl rand -base64 48\`` },
);

const environmentSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  APP_URL: optionalString
    .pipe(z.url({ protocol: /^https?$/, message: "must be an http(s) URL such as http://localhost:3000" }).optional())
    .default("http://localhost:3000"),
  DATABASE_URL: optionalString.pipe(
    z.url({ protocol: /^postgres(ql)?$/, message: "must be a postgres:// or postgresql:// URL" }).optional(),
  ),
  PGLITE_DIR: optionalString.default(".data/pglite"),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(z.url({ message: "must be a URL such as http://127.0.0.1:4010/v1" }).optional()),
  OPENAI_MODEL: optionalString.default("gpt-4o-mini"),
  OPENAI_TIMEOUT_MS: optionalString
    .pipe(z.string().regex(/^\d+$/, { message: "must be a whole number of milliseconds, such as 60000" }).optional())
    .transform((value) => (value === undefined ? 60_000 : Number(value)))
    .refine((value) => value >= 100 && value <= 600_000, { message: "must be from 100 to 600000 milliseconds" }),
  MODEL_PRICES: optionalString,
  JWT_ACCESS_SECRET: secret,
  JWT_REFRESH_SECRET: secret,
  JWT_ACCESS_SECRET_PREVIOUS: secret,
  JWT_REFRESH_SECRET_PREVIOUS: secret,
  TRUST_PROXY: optionalString
    .pipe(z.string().regex(/^\d{1,2}$/, { message: "must be the number of proxies in front of the app, such as 1; 0 or unset for none" }).optional())
    .transform((value) => (value === undefined ? 0 : Number(value))),
  PLAN_LIMITS: optionalString,
  ADMIN_EMAILS: optionalString,
  UPSTASH_REDIS_REST_URL: optionalString.pipe(
    z.url({ protocol: /^https?$/, message: "must be the database's REST URL, such as https://example-12345.upstash.io" }).optional(),
  ),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  // Braces are excluded because Redis Cluster reads `{...}` in a key as its hash tag.
  UPSTASH_KEY_PREFIX: optionalString
    .pipe(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: "must be 1 to 64 letters, digits, '_', '.', ':' or '-'" }).optional())
    .default("tollgate"),
  GLOBAL_DAILY_SPEND_CAP_USD: optionalString.pipe(
    z
      .string()
      .regex(/^\d+(\.\d{1,6})?$/, { message: "must be an amount in US dollars, such as 25 or 2.50" })
      .refine((value) => Number(value) > 0, { message: "must be more than 0; leave it unset for no cap" })
      .optional(),
  ),
  AUTH_SECRET: secret,
  AUTH_GOOGLE_ID: optionalString,
  AUTH_GOOGLE_SECRET: optionalString,
  AUTH_GOOGLE_ISSUER: optionalString
    .pipe(z.url({ protocol: /^https?$/, message: "must be an OpenID Connect issuer URL, such as https://accounts.google.com" }).optional())
    .default(GOOGLE_ISSUER),
  // Read by readLogLevel; validated here so that a typo stops start-up like any other value.
  LOG_LEVEL: optionalString.pipe(
    z.string().regex(/^(debug|info|warn|error|silent)$/i, { message: "must be debug, info, warn, error or silent" }).optional(),
  ),
});

export type Config = {
  env: "development" | "production" | "test";
  appUrl: URL;
  database: { kind: "postgres"; url: string } | { kind: "pglite"; dir: string };
  llm:
    | { kind: "openai"; apiKey: string; baseUrl?: string; model: string; timeoutMs: number }
    | { kind: "demo"; model: typeof DEMO_MODEL };
  /** Price of every model the app may call, in US dollars per million tokens. */
  prices: PriceTable;
  /** Secrets that sign tokens; a previous secret still verifies tokens signed before a rotation. */
  jwt: { accessSecret: string; refreshSecret: string; accessSecretPrevious?: string; refreshSecretPrevious?: string };
  /** How many proxies in front of the app append to X-Forwarded-For; 0 when none is trusted. */
  trustProxy: number;
  plans: PlanTable;
  adminEmails: Set<string>;
  /** Location of the limit counters: the database, or Upstash Redis through its REST API. */
  counters: { kind: "postgres" } | { kind: "upstash"; url: string; token: string; keyPrefix: string };
  /** The whole app's spend cap per UTC day in micro-dollars, or null when there is none. */
  spendCapMicros: number | null;
  /** Google sign-in, or null when it is not configured (the button is then hidden). */
  google: { clientId: string; clientSecret: string; issuer: string; authSecret: string } | null;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses and validates the environment; throws a ConfigError naming each invalid variable. */
export function parseConfig(environment: Record<string, string | undefined> = readEnvironment()): Config {
  const result = environmentSchema.safeParse(environment);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const values = result.data;

  if (!values.JWT_ACCESS_SECRET || !values.JWT_REFRESH_SECRET) {
    const missing = ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"].filter(
      (name) => !values[name as "JWT_ACCESS_SECRET" | "JWT_REFRESH_SECRET"],
    );
    const hint =
      values.NODE_ENV === "production"
        ? "Production needs its own secrets: generate each with `openssl rand -base64 48`."
        : "`npm run dev` generates development secrets under .data/; otherwise set them yourself.";
    throw new ConfigError(`Missing ${missing.join(" and ")}. ${hint}`);
  }
  if (values.JWT_ACCESS_SECRET === values.JWT_REFRESH_SECRET) {
    throw new ConfigError("JWT_ACCESS_SECRET and JWT_REFRESH_SECRET must differ, so one kind of token cannot pass as the other.");
  }
  const accessSecrets = [values.JWT_ACCESS_SECRET, values.JWT_ACCESS_SECRET_PREVIOUS];
  const refreshSecrets = [values.JWT_REFRESH_SECRET, values.JWT_REFRESH_SECRET_PREVIOUS];
  if (accessSecrets.some((value) => value !== undefined && refreshSecrets.includes(value))) {
    throw new ConfigError(
      "JWT_ACCESS_SECRET_PREVIOUS and JWT_REFRESH_SECRET_PREVIOUS must differ from the secrets of the other kind of token.",
    );
  }

  let prices: PriceTable;
  try {
    prices = parseModelPrices(values.MODEL_PRICES);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  // A model without a price would be recorded as free, and no budget would ever trip on it.
  if (values.OPENAI_API_KEY && !prices[values.OPENAI_MODEL]) {
    throw new ConfigError(
      `OPENAI_MODEL "${values.OPENAI_MODEL}" has no price. Use one of ${Object.keys(prices).filter((model) => model !== DEMO_MODEL).join(", ")}, ` +
        `or add its price to MODEL_PRICES, for example {"${values.OPENAI_MODEL}":{"input":0.5,"output":1.5}}.`,
    );
  }

  // Without a key the demo model replies, so a base URL alone would be silently ignored.
  if (values.OPENAI_BASE_URL && !values.OPENAI_API_KEY) {
    throw new ConfigError(
      "OPENAI_BASE_URL is set but OPENAI_API_KEY is missing, so the demo model would reply instead. Set OPENAI_API_KEY too (any value, for a server that needs no key).",
    );
  }

  const upstashUrl = values.UPSTASH_REDIS_REST_URL;
  const upstashToken = values.UPSTASH_REDIS_REST_TOKEN;
  if (Boolean(upstashUrl) !== Boolean(upstashToken)) {
    const missing = upstashUrl ? "UPSTASH_REDIS_REST_TOKEN" : "UPSTASH_REDIS_REST_URL";
    throw new ConfigError(
      `Missing ${missing}. Set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN to keep the limit counters in Upstash Redis, or neither to keep them in the database.`,
    );
  }

  const googleId = values.AUTH_GOOGLE_ID;
  const googleSecret = values.AUTH_GOOGLE_SECRET;
  if (Boolean(googleId) !== Boolean(googleSecret)) {
    const missing = googleId ? "AUTH_GOOGLE_SECRET" : "AUTH_GOOGLE_ID";
    throw new ConfigError(`Missing ${missing}. Set both AUTH_GOOGLE_ID and AUTH_GOOGLE_SECRET to offer Google sign-in, or neither to hide it.`);
  }
  if (googleId && !values.AUTH_SECRET) {
    throw new ConfigError(
      "Missing AUTH_SECRET. Google sign-in needs it to encrypt its short-lived state cookies: generate one with `openssl rand -base64 48`.",
    );
  }

  let plans: PlanTable;
  try {
    plans = parsePlanLimits(values.PLAN_LIMITS);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }

  return {
    env: values.NODE_ENV,
    appUrl: new URL(values.APP_URL),
    database: values.DATABASE_URL
      ? { kind: "postgres", url: values.DATABASE_URL }
      : { kind: "pglite", dir: values.PGLITE_DIR },
    llm: values.OPENAI_API_KEY
      ? {
          kind: "openai",
          apiKey: values.OPENAI_API_KEY,
          baseUrl: values.OPENAI_BASE_URL,
          model: values.OPENAI_MODEL,
          timeoutMs: values.OPENAI_TIMEOUT_MS,
        }
      : { kind: "demo", model: DEMO_MODEL },
    jwt: {
      accessSecret: values.JWT_ACCESS_SECRET,
      refreshSecret: values.JWT_REFRESH_SECRET,
      accessSecretPrevious: values.JWT_ACCESS_SECRET_PREVIOUS,
      refreshSecretPrevious: values.JWT_REFRESH_SECRET_PREVIOUS,
    },
    trustProxy: values.TRUST_PROXY,
    plans,
    prices,
    adminEmails: new Set(
      (values.ADMIN_EMAILS ?? "")
        .split(",")
        .map((email) => email.trim().toLowerCase())
        .filter(Boolean),
    ),
    counters:
      upstashUrl && upstashToken
        ? { kind: "upstash", url: upstashUrl, token: upstashToken, keyPrefix: values.UPSTASH_KEY_PREFIX }
        : { kind: "postgres" },
    // Dollars become integer micro-dollars, the unit of every cost column and counter.
    spendCapMicros: values.GLOBAL_DAILY_SPEND_CAP_USD ? Math.round(Number(values.GLOBAL_DAILY_SPEND_CAP_USD) * 1_000_000) : null,
    google:
      googleId && googleSecret && values.AUTH_SECRET
        ? { clientId: googleId, clientSecret: googleSecret, issuer: values.AUTH_GOOGLE_ISSUER, authSecret: values.AUTH_SECRET }
        : null,
  };
}

const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;

/**
 * Returns LOG_LEVEL (default `info`). It is read apart from the rest of the configuration so
 * that a configuration error can itself be logged.
 */
export function readLogLevel(): (typeof LOG_LEVELS)[number] {
  const level = process.env.LOG_LEVEL?.trim().toLowerCase();
  return LOG_LEVELS.find((known) => known === level) ?? "info";
}

let cached: Config | undefined;

/** Returns the configuration, parsing it on first use. */
export function getConfig(): Config {
  cached ??= parseConfig();
  return cached;
}

/** Drops the parsed configuration so the next `getConfig` reads the environment again (tests only). */
export function resetConfigForTests(): void {
  cached = undefined;
}
