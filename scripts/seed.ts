/**
 * Fills the PostgreSQL database at DATABASE_URL with made-up users and usage rows, for the
 * dashboards' load tests and screenshots. Everything is generated inside PostgreSQL with
 * generate_series, so a million rows take well under a minute.
 *
 *   npm run db:seed -- --rows 1000000            10,000 users, 90 days (the defaults)
 *   npm run db:seed -- --rows 5000 --users 50 --password 'correct horse battery'
 *
 * Seeded users have addresses ending in @seed.tollgate.test. A second run replaces them. The
 * seed stops when the database has any other user, unless --force is given, and then it
 * leaves those users and their data alone.
 *
 * Besides ordinary traffic it adds a few users for the admin console's flags: scripts that send
 * a request every minute, users active around the clock, a spend spike today, and free users
 * near their daily request limit. It also fills today's limit counters and the app-wide spend
 * counter of the PostgreSQL counter store, so the dashboards' meters agree with the rows.
 */
import { parseArgs } from "node:util";
// Loaded before the app's modules, which read the configuration when first used.
import "./load-environment.mjs";
import { hashPassword } from "@/lib/auth/password";
import { getConfig } from "@/lib/config";
import type { SQL } from "drizzle-orm";
import { closeDb, getDb, queryRows, sql, type Database } from "@/lib/db/client";
import { dayCountersExpireAt, utcDay } from "@/lib/limits/store";

export const SEED_EMAIL_DOMAIN = "seed.tollgate.test";

type Options = { rows: number; users: number; days: number; force: boolean; password?: string };

const USAGE = "Usage: npm run db:seed -- --rows N [--users N] [--days N] [--password TEXT] [--force]";

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "1000000" },
      users: { type: "string", default: "10000" },
      days: { type: "string", default: "90" },
      password: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  const whole = (name: string, value: string, min: number, max: number) => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new Error(`Invalid --${name} "${value}": expected a whole number from ${min} to ${max}.\n${USAGE}`);
    }
    return number;
  };
  return {
    rows: whole("rows", values.rows, 0, 50_000_000),
    users: whole("users", values.users, 1, 1_000_000),
    days: whole("days", values.days, 1, 365),
    force: values.force,
    password: values.password,
  };
}

/** Counts users that the seed did not create, so it never mixes its rows into a real database by accident. */
async function countOtherUsers(db: Database): Promise<number> {
  const [row] = await queryRows<{ count: string | number }>(
    db,
    sql`select count(*) as count from users where email not like ${`%@${SEED_EMAIL_DOMAIN}`}`,
  );
  return Number(row!.count);
}

async function removePreviousSeed(db: Database, { onlySeedUsers }: { onlySeedUsers: boolean }) {
  // TRUNCATE is much faster than deleting a million rows, but only safe when every user is a seed user.
  if (onlySeedUsers) {
    await db.execute(sql`truncate users, limit_counters, rate_events, app_spend_counters cascade`);
    return;
  }
  await db.execute(sql`delete from users where email like ${`%@${SEED_EMAIL_DOMAIN}`}`);
}

async function insertUsers(db: Database, options: Options) {
  const passwordHash = options.password ? await hashPassword(options.password) : null;
  // Plans: 3% enterprise, 17% pro, 80% free. Accounts were opened over the 180 days before now.
  await db.execute(sql`
    insert into users (email, name, plan, role, password_hash, created_at)
    select 'seed-' || lpad(i::text, 6, '0') || ${`@${SEED_EMAIL_DOMAIN}`},
           'Seed user ' || i,
           case when i % 100 < 3 then 'enterprise' when i % 100 < 20 then 'pro' else 'free' end,
           'user',
           ${passwordHash},
           now() - interval '180 days' + (i::float / ${options.users}) * interval '170 days'
    from generate_series(1, ${options.users}) as i`);

  // One working table row per seed user: its place in the list, plan and time zone.
  await db.execute(sql`
    create temp table seed_users on commit drop as
    select row_number() over (order by email) as seq, id, plan,
           (floor(random() * 18) - 8)::int as utc_offset_hours,
           case plan when 'enterprise' then 60.0 when 'pro' then 8.0 else 1.0 end * -ln(1 - random()) as weight,
           0::int as row_count,
           'ordinary'::text as kind
    from users where email like ${`%@${SEED_EMAIL_DOMAIN}`}`);
  await db.execute(sql`create index on seed_users (seq)`);
}

/**
 * Marks the few users whose traffic trips the admin console's flags, and returns how many rows
 * their traffic takes. Picked by position, so each kind lands on a plan whose limits it fits.
 */
async function markFlaggedUsers(db: Database, options: Options): Promise<number> {
  // A small seed (for screenshots) gets one or two of each kind, a large one a few more.
  const large = options.users >= 1_000;
  const counts = { steadyScript: large ? 3 : 1, aroundTheClock: large ? 2 : 1, spendSpike: large ? 5 : 1, nearLimit: large ? 20 : 2 };
  if (options.users < 20) return 0;

  await db.execute(sql`
    with picks as (select id, row_number() over (order by seq) as n from seed_users where plan = 'enterprise')
    update seed_users s
    set kind = case when p.n <= ${counts.steadyScript} then 'steady-script' else 'around-the-clock' end
    from picks p where p.id = s.id and p.n <= ${counts.steadyScript + counts.aroundTheClock}`);
  await db.execute(sql`
    with picks as (select id, row_number() over (order by seq) as n from seed_users where plan = 'pro')
    update seed_users s set kind = 'spend-spike' from picks p where p.id = s.id and p.n <= ${counts.spendSpike}`);
  await db.execute(sql`
    with picks as (select id, row_number() over (order by seq) as n from seed_users where plan = 'free')
    update seed_users s set kind = 'near-limit' from picks p where p.id = s.id and p.n <= ${counts.nearLimit}`);

  // Steady scripts: one request every 60 s for the last 12 hours (720 rows each). Around the
  // clock: one request about every 40 minutes for 24 hours (36 each). Spend spike: 40 large
  // gpt-4o requests in the last 2 hours. Near limit: 17 of the free plan's 20 requests today.
  const [row] = await queryRows<{ rows: string | number }>(
    db,
    sql`select coalesce(sum(case kind when 'steady-script' then 720 when 'around-the-clock' then 36
                                     when 'spend-spike' then 40 when 'near-limit' then 17 else 0 end), 0) as rows
        from seed_users`,
  );
  const flaggedRows = Number(row!.rows);
  if (flaggedRows > options.rows) {
    throw new Error(`--rows ${options.rows} is too few: the flagged users alone take ${flaggedRows} rows.`);
  }
  return flaggedRows;
}

/**
 * Shares `total` rows among the users with ordinary traffic by weight, so that the shares add up
 * exactly. The spend-spike and near-limit users get ordinary history too, so their flags compare
 * today with real earlier days.
 */
async function assignRowCounts(db: Database, total: number) {
  await db.execute(sql`
    with cumulative as (
      select id,
             sum(weight) over (order by seq) as upto,
             sum(weight) over (order by seq) - weight as before,
             sum(weight) over () as whole
      from seed_users where kind in ('ordinary', 'spend-spike', 'near-limit')
    )
    update seed_users s
    set row_count = (floor(${total} * c.upto / c.whole) - floor(${total} * c.before / c.whole))::int
    from cumulative c where c.id = s.id`);
  // Floating-point sums can leave the last share a row short, so the busiest user takes the rest.
  await db.execute(sql`
    update seed_users set row_count = row_count + (${total} - (select coalesce(sum(row_count), 0) from seed_users))
    where id = (select id from seed_users where kind = 'ordinary' order by row_count desc limit 1)`);
}

// Costs are computed in SQL from the same price table the app uses. A price per million tokens in
// dollars is a price per token in micro-dollars, as in lib/llm/models.ts.
function pricesTable() {
  const entries = Object.entries(getConfig().prices).map(
    ([model, price]) => sql`(${model}::text, ${price.input}::float8, ${price.cachedInput}::float8, ${price.output}::float8)`,
  );
  return sql`(values ${sql.join(entries, sql`, `)}) as p(model, input, cached_input, output)`;
}

/**
 * Inserts ordinary traffic for seed users seq in [from, to]: mostly in each user's local daytime,
 * busier on recent days, chat most of all, each plan on the models it may use.
 */
async function insertOrdinaryRows(db: Database, { from, to, days }: { from: number; to: number; days: number }) {
  await db.execute(sql`
    with draws as (
      select s.id as user_id, s.plan, s.utc_offset_hours,
             random() as r_day, random() as r_time, random() as r_night, random() as r_feature, random() as r_model,
             random() as r_in, random() as r_out, random() as r_status, random() as r_cache, random() as r_latency
      from seed_users s cross join lateral generate_series(1, s.row_count)
      where s.seq between ${from} and ${to} and s.row_count > 0
    ),
    shaped as (
      select user_id,
             -- Day 0 is today. Traffic grows linearly: today is twice as busy as the first day.
             -- 2 - sqrt(4 - 3r) is the inverse of the cumulative share of that density.
             date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'
               - floor((2 - sqrt(4 - 3 * r_day)) * ${days}) * interval '1 day'
               + (case when r_night < 0.06 then r_time * 24 else 8 + r_time * 15 end - utc_offset_hours) * interval '1 hour'
               as at,
             case when r_feature < 0.72 then 'chat' when r_feature < 0.88 then 'generate' else 'title' end as feature,
             case
               when r_feature >= 0.88 then 'gpt-4o-mini'
               when plan = 'free' then case when r_model < 0.8 then 'gpt-4o-mini' else 'gpt-4.1-nano' end
               when plan = 'pro' then case when r_model < 0.5 then 'gpt-4o-mini' when r_model < 0.7 then 'gpt-4.1-mini'
                                           when r_model < 0.85 then 'gpt-4o' else 'gpt-4.1-nano' end
               else case when r_model < 0.35 then 'gpt-4o-mini' when r_model < 0.55 then 'gpt-4.1-mini'
                         when r_model < 0.75 then 'gpt-4o' when r_model < 0.9 then 'gpt-4.1' else 'gpt-4.1-nano' end
             end as model,
             case when r_status < 0.02 then 'error' when r_status < 0.035 then 'aborted' else 'ok' end as status,
             r_feature, r_in, r_out, r_cache, r_latency, r_status, plan
      from draws
    ),
    tokens as (
      select user_id, feature, model, status, r_latency, r_status,
             -- Rows dated later than now (today's evening) move back one day.
             case when at > now() then at - interval '1 day' else at end as created_at,
             case when status = 'error' then 0
                  when feature = 'title' then 80 + floor(r_in * 200)::int
                  else 40 + floor(power(r_in, 2) * case plan when 'free' then 1900 else 5000 end)::int end as tokens_in,
             case when status = 'error' then 0
                  when feature = 'title' then 6 + floor(r_out * 10)::int
                  else floor((20 + r_out * case plan when 'free' then 480 else 1500 end)
                             * case when status = 'aborted' then 0.4 else 1 end)::int end as tokens_out,
             r_cache
      from shaped
    )
    insert into llm_usage (user_id, request_id, feature, model, tokens_in, tokens_out, tokens_cached, total_tokens,
                           cost_micros, latency_ms, status, usage_source, created_at)
    select t.user_id, 'seed_' || md5(random()::text), t.feature, t.model, t.tokens_in, t.tokens_out,
           cached.tokens, t.tokens_in + t.tokens_out,
           ceil((t.tokens_in - cached.tokens) * p.input + cached.tokens * p.cached_input + t.tokens_out * p.output)::bigint,
           case when t.status = 'error' then 50 + floor(r_latency * 400)::int
                else 250 + floor(t.tokens_out * (8 + r_latency * 17))::int end,
           t.status,
           case when t.status <> 'ok' or r_status > 0.97 then 'estimated' else 'reported' end,
           t.created_at
    from tokens t
    join ${pricesTable()} on p.model = t.model
    cross join lateral (select case when t.tokens_in >= 1024 and t.r_cache < 0.5 then 1024 else 0 end as tokens) cached`);
}

/** Inserts the traffic of the users marked by markFlaggedUsers, all of it within the last 24 hours. */
async function insertFlaggedRows(db: Database) {
  type Traffic = { kind: string; rows: number; model: string; createdAt: SQL; tokensIn: SQL; tokensOut: SQL };
  // Every expression is evaluated once per generated row, because it sits in the select list of
  // the subquery that generate_series feeds.
  const insert = ({ kind, rows, model, createdAt, tokensIn, tokensOut }: Traffic) =>
    db.execute(sql`
      insert into llm_usage (user_id, request_id, feature, model, tokens_in, tokens_out, tokens_cached, total_tokens,
                             cost_micros, latency_ms, status, usage_source, created_at)
      select t.user_id, 'seed_' || md5(random()::text), 'generate', p.model, t.tokens_in, t.tokens_out, 0,
             t.tokens_in + t.tokens_out,
             ceil(t.tokens_in * p.input + t.tokens_out * p.output)::bigint,
             400 + floor(random() * 600)::int, 'ok', 'reported', t.created_at
      from (
        select s.id as user_id, ${createdAt} as created_at, ${tokensIn} as tokens_in, ${tokensOut} as tokens_out
        from seed_users s cross join generate_series(1, ${rows}) as i
        where s.kind = ${kind}
      ) t
      join ${pricesTable()} on p.model = ${model}`);

  await insert({
    kind: "steady-script",
    rows: 720,
    model: "gpt-4o-mini",
    createdAt: sql`now() - i * interval '60 seconds' + random() * interval '1 second'`,
    tokensIn: sql`300`,
    tokensOut: sql`120`,
  });
  await insert({
    kind: "around-the-clock",
    rows: 36,
    model: "gpt-4o-mini",
    createdAt: sql`now() - interval '10 minutes' - (i - 1) * interval '39 minutes' - random() * interval '15 minutes'`,
    tokensIn: sql`200 + floor(random() * 400)::int`,
    tokensOut: sql`50 + floor(random() * 300)::int`,
  });
  await insert({
    kind: "spend-spike",
    rows: 40,
    model: "gpt-4o",
    createdAt: sql`now() - random() * interval '2 hours'`,
    tokensIn: sql`1000`,
    tokensOut: sql`200`,
  });
  await insert({
    kind: "near-limit",
    rows: 17,
    model: "gpt-4o-mini",
    // Spread over today so far, from midnight UTC to now.
    createdAt: sql`now() - random() * (now() - date_trunc('day', now() at time zone 'UTC') at time zone 'UTC')`,
    tokensIn: sql`60 + floor(random() * 120)::int`,
    tokensOut: sql`40 + floor(random() * 100)::int`,
  });
}

/** Sums the seed users' rows into the rollups, which insertUsageRow keeps up to date for real traffic. */
async function insertRollups(db: Database) {
  await db.execute(sql`
    insert into usage_daily (user_id, day, requests, tokens_in, tokens_out, total_tokens, cost_micros)
    select u.user_id, (u.created_at at time zone 'UTC')::date,
           count(*), sum(u.tokens_in), sum(u.tokens_out), sum(u.total_tokens), sum(u.cost_micros)
    from llm_usage u join seed_users s on s.id = u.user_id
    group by 1, 2`);
  await db.execute(sql`
    insert into usage_monthly (user_id, month, feature, model, requests, tokens_in, tokens_out, total_tokens, cost_micros)
    select u.user_id, date_trunc('month', u.created_at at time zone 'UTC')::date, u.feature, u.model,
           count(*), sum(u.tokens_in), sum(u.tokens_out), sum(u.total_tokens), sum(u.cost_micros)
    from llm_usage u join seed_users s on s.id = u.user_id
    group by 1, 2, 3, 4`);
}

/** Sets today's counters of the PostgreSQL counter store from the seeded rows, as settled calls would have left them. */
async function fillTodayCounters(db: Database) {
  const now = new Date();
  const day = utcDay(now);
  const expiresAt = dayCountersExpireAt(now).toISOString();
  await db.execute(sql`
    insert into limit_counters (user_id, day, requests, tokens, expires_at)
    select user_id, ${day}, requests, total_tokens, ${expiresAt}
    from usage_daily d join seed_users s on s.id = d.user_id
    where d.day = ${day}::date
    on conflict (user_id, day) do update set requests = excluded.requests, tokens = excluded.tokens`);
  await db.execute(sql`
    insert into app_spend_counters (day, spent_micros, expires_at)
    select ${day}, coalesce(sum(cost_micros), 0), ${expiresAt}
    from usage_daily d join seed_users s on s.id = d.user_id where d.day = ${day}::date
    on conflict (day) do update set spent_micros = app_spend_counters.spent_micros + excluded.spent_micros`);
}

async function seed(options: Options) {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  // One transaction, because the working table is a temporary table that only its own
  // connection can read, and so that a failed run leaves the database as it was.
  const db = await getDb();
  await db.transaction(async (tx) => {
    await seedInTransaction(tx as unknown as Database, options, elapsed);
  });

  // VACUUM cannot run inside a transaction. It sets the visibility map, so the dashboards' index-only
  // scans skip the table from the first request on, as they do once autovacuum has run.
  await db.execute(sql`vacuum analyze users, llm_usage, usage_daily, usage_monthly, limit_counters`);
  console.log(`${elapsed()}: vacuumed and analysed`);
}

async function seedInTransaction(db: Database, options: Options, elapsed: () => string) {
  const otherUsers = await countOtherUsers(db);
  if (otherUsers > 0 && !options.force) {
    throw new Error(
      `The database at DATABASE_URL has ${otherUsers} user(s) that the seed did not create. ` +
        "Point DATABASE_URL at a database of its own, or pass --force to add seed users beside them.",
    );
  }

  await removePreviousSeed(db, { onlySeedUsers: otherUsers === 0 });
  await insertUsers(db, options);
  console.log(`${elapsed()}: ${options.users.toLocaleString("en-US")} users`);

  const flaggedRows = await markFlaggedUsers(db, options);
  await assignRowCounts(db, options.rows - flaggedRows);
  await insertFlaggedRows(db);

  const batch = Math.max(1, Math.ceil(options.users / 10));
  for (let from = 1; from <= options.users; from += batch) {
    await insertOrdinaryRows(db, { from, to: from + batch - 1, days: options.days });
    console.log(`${elapsed()}: usage rows for users ${from} to ${Math.min(options.users, from + batch - 1)}`);
  }

  await insertRollups(db);
  await fillTodayCounters(db);

  const [counts] = await queryRows<{ rows: string; rollups: string }>(
    db,
    sql`select (select count(*) from llm_usage u join seed_users s on s.id = u.user_id) as rows,
               (select count(*) from usage_monthly m join seed_users s on s.id = m.user_id) as rollups`,
  );
  console.log(
    `${elapsed()}: done, ${Number(counts!.rows).toLocaleString("en-US")} usage rows and ` +
      `${Number(counts!.rollups).toLocaleString("en-US")} monthly rollup rows for ${options.users.toLocaleString("en-US")} seed users.`,
  );
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions();
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  // Without DATABASE_URL the app falls back to an embedded PGlite folder, which a running dev
  // server may hold open. The seed only fills a PostgreSQL database that is named explicitly.
  if (getConfig().database.kind !== "postgres") {
    console.error("DATABASE_URL is not set. Set it to the PostgreSQL database to fill, such as postgres://postgres@127.0.0.1:5432/tollgate_seed.");
    return 2;
  }

  await seed(options);
  return 0;
}

main()
  .then(async (code) => {
    await closeDb();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    const cause = (error as Error).cause;
    console.error(`Seeding failed: ${(error as Error).message}${cause instanceof Error ? `\n${cause.message}` : ""}`);
    await closeDb().catch(() => {});
    process.exit(1);
  });
