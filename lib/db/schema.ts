import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import type { PlanName } from "@/lib/limits/plans";

export type Role = "user" | "admin";
export type UsageStatus = "ok" | "error" | "aborted";
/** The source of a usage row's token counts: the provider's own report, or our tokenizer. */
export type UsageSource = "reported" | "estimated";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    // Stored lower-cased; the unique index on lower(email) also guards rows written by hand.
    email: text("email").notNull(),
    name: text("name"),
    passwordHash: text("password_hash"),
    plan: text("plan").$type<PlanName>().notNull().default("free"),
    role: text("role").$type<Role>().notNull().default("user"),
    // Bumped by "sign out everywhere": access tokens carrying an older version are refused.
    tokenVersion: integer("token_version").notNull().default(0),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex("users_email_lower_key").on(sql`lower(${table.email})`),
    check("users_plan_check", sql`${table.plan} in ('free', 'pro', 'enterprise')`),
    check("users_role_check", sql`${table.role} in ('user', 'admin')`),
  ],
);

export const accounts = pgTable(
  "accounts",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    providerAccountId: text("provider_account_id").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    uniqueIndex("accounts_provider_account_key").on(table.provider, table.providerAccountId),
    index("accounts_user_idx").on(table.userId),
  ],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    // Also the token's `jti` claim.
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // One family per sign-in; every rotation stays in it, so reuse can revoke the whole chain.
    familyId: uuid("family_id").notNull(),
    // SHA-256 of the token, hex. The raw token is never stored.
    tokenHash: text("token_hash").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
    // Set by sign-out, reuse and "sign out everywhere"; a revoked token never refreshes again.
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    // Set by rotation. A replaced token presented within the grace window is a benign race.
    replacedBy: uuid("replaced_by"),
    replacedAt: timestamp("replaced_at", { withTimezone: true }),
    // The token whose rotation issued this one; null for the first token of a family.
    parentId: uuid("parent_id"),
    userAgent: text("user_agent"),
  },
  (table) => [
    uniqueIndex("refresh_tokens_hash_key").on(table.tokenHash),
    index("refresh_tokens_family_idx").on(table.familyId),
    index("refresh_tokens_user_idx").on(table.userId),
    index("refresh_tokens_parent_idx").on(table.parentId),
  ],
);

/**
 * Fixed-window counters of sign-in and sign-up attempts, keyed by action and a hashed account or
 * client address. They live in the database so that every app instance counts against one total.
 */
export const authAttempts = pgTable(
  "auth_attempts",
  {
    key: text("key").primaryKey(),
    attempts: integer("attempts").notNull().default(0),
    windowEndsAt: timestamp("window_ends_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("auth_attempts_window_ends_idx").on(table.windowEndsAt)],
);

export const chats = pgTable(
  "chats",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    title: text("title").notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index("chats_user_updated_idx").on(table.userId, table.updatedAt)],
);

export const messages = pgTable(
  "messages",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    chatId: uuid("chat_id")
      .notNull()
      .references(() => chats.id, { onDelete: "cascade" }),
    role: text("role").$type<"user" | "assistant">().notNull(),
    content: text("content").notNull(),
    createdAt: createdAt(),
  },
  (table) => [
    index("messages_chat_created_idx").on(table.chatId, table.createdAt),
    check("messages_role_check", sql`${table.role} in ('user', 'assistant')`),
  ],
);

export const llmUsage = pgTable(
  "llm_usage",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    requestId: text("request_id").notNull(),
    feature: text("feature").notNull(),
    model: text("model").notNull(),
    tokensIn: integer("tokens_in").notNull(),
    tokensOut: integer("tokens_out").notNull(),
    // The part of tokens_in the provider served from its prompt cache, billed at the cached price.
    tokensCached: integer("tokens_cached").notNull().default(0),
    totalTokens: integer("total_tokens").notNull(),
    // Integer micro-dollars (1 USD = 1,000,000), so sums never drift the way floats do.
    costMicros: bigint("cost_micros", { mode: "number" }).notNull(),
    latencyMs: integer("latency_ms").notNull(),
    status: text("status").$type<UsageStatus>().notNull(),
    usageSource: text("usage_source").$type<UsageSource>().notNull(),
    chatId: uuid("chat_id").references(() => chats.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (table) => [
    index("llm_usage_user_created_idx").on(table.userId, table.createdAt),
    index("llm_usage_created_idx").on(table.createdAt),
    check("llm_usage_status_check", sql`${table.status} in ('ok', 'error', 'aborted')`),
    check("llm_usage_source_check", sql`${table.usageSource} in ('reported', 'estimated')`),
  ],
);

// Rollups of llm_usage for the dashboards. `insertUsageRow` adds each usage row to both in the
// same transaction, and deleting a user deletes their rows in all three tables, so the rollups'
// sums equal those of llm_usage as long as usage rows are written through that function.
// Each rollup row's key starts with a user id, so an upsert locks one user's row and concurrent
// requests of different users never wait on each other there.

/** A user's usage per UTC day of the rows' created_at. */
export const usageDaily = pgTable(
  "usage_daily",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    day: date("day", { mode: "string" }).notNull(),
    requests: integer("requests").notNull(),
    tokensIn: bigint("tokens_in", { mode: "number" }).notNull(),
    tokensOut: bigint("tokens_out", { mode: "number" }).notNull(),
    totalTokens: bigint("total_tokens", { mode: "number" }).notNull(),
    costMicros: bigint("cost_micros", { mode: "number" }).notNull(),
  },
  (table) => [
    primaryKey({ name: "usage_daily_pkey", columns: [table.userId, table.day] }),
    // Contains every column the admin console sums per user and day, so it reads the index alone.
    index("usage_daily_day_idx").on(table.day, table.userId, table.requests, table.totalTokens, table.costMicros),
  ],
);

/** A user's usage per UTC calendar month (its first day), feature and model. */
export const usageMonthly = pgTable(
  "usage_monthly",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    month: date("month", { mode: "string" }).notNull(),
    feature: text("feature").notNull(),
    model: text("model").notNull(),
    requests: integer("requests").notNull(),
    tokensIn: bigint("tokens_in", { mode: "number" }).notNull(),
    tokensOut: bigint("tokens_out", { mode: "number" }).notNull(),
    totalTokens: bigint("total_tokens", { mode: "number" }).notNull(),
    costMicros: bigint("cost_micros", { mode: "number" }).notNull(),
  },
  (table) => [
    primaryKey({ name: "usage_monthly_pkey", columns: [table.userId, table.month, table.feature, table.model] }),
    // Contains every column the admin console sums for a month, so it reads the index alone.
    index("usage_monthly_month_idx").on(
      table.month,
      table.userId,
      table.feature,
      table.model,
      table.requests,
      table.totalTokens,
      table.costMicros,
    ),
  ],
);

/** Per-user, per-UTC-day counters of the PostgreSQL counter store. */
export const limitCounters = pgTable(
  "limit_counters",
  {
    userId: uuid("user_id").notNull(),
    day: text("day").notNull(),
    requests: integer("requests").notNull().default(0),
    tokens: bigint("tokens", { mode: "number" }).notNull().default(0),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ name: "limit_counters_pkey", columns: [table.userId, table.day] }),
    index("limit_counters_expires_idx").on(table.expiresAt),
  ],
);

/** One row per admitted request in the last minute: the sliding per-minute window. */
export const rateEvents = pgTable(
  "rate_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    userId: uuid("user_id").notNull(),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull(),
  },
  (table) => [index("rate_events_user_at_idx").on(table.userId, table.at)],
);

/** The whole app's spend per UTC day, for the PostgreSQL counter store's daily spend cap. */
export const appSpendCounters = pgTable(
  "app_spend_counters",
  {
    day: text("day").primaryKey(),
    // Integer micro-dollars: settled costs plus the estimates of calls still running.
    spentMicros: bigint("spent_micros", { mode: "number" }).notNull().default(0),
    // Whether the latest reservation checked against the cap was rejected.
    lastCheckRejected: boolean("last_check_rejected").notNull().default(false),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (table) => [index("app_spend_counters_expires_idx").on(table.expiresAt)],
);
