CREATE TABLE "usage_daily" (
	"user_id" uuid NOT NULL,
	"day" date NOT NULL,
	"requests" integer NOT NULL,
	"tokens_in" bigint NOT NULL,
	"tokens_out" bigint NOT NULL,
	"total_tokens" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	CONSTRAINT "usage_daily_pkey" PRIMARY KEY("user_id","day")
);
--> statement-breakpoint
CREATE TABLE "usage_monthly" (
	"user_id" uuid NOT NULL,
	"month" date NOT NULL,
	"feature" text NOT NULL,
	"model" text NOT NULL,
	"requests" integer NOT NULL,
	"tokens_in" bigint NOT NULL,
	"tokens_out" bigint NOT NULL,
	"total_tokens" bigint NOT NULL,
	"cost_micros" bigint NOT NULL,
	CONSTRAINT "usage_monthly_pkey" PRIMARY KEY("user_id","month","feature","model")
);
--> statement-breakpoint
ALTER TABLE "usage_daily" ADD CONSTRAINT "usage_daily_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_monthly" ADD CONSTRAINT "usage_monthly_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_daily_day_idx" ON "usage_daily" USING btree ("day");--> statement-breakpoint
CREATE INDEX "usage_monthly_month_idx" ON "usage_monthly" USING btree ("month");--> statement-breakpoint
-- Backfill: the rollups start out equal to the usage rows already stored. Written by hand below
-- the generated statements.
INSERT INTO "usage_daily" ("user_id", "day", "requests", "tokens_in", "tokens_out", "total_tokens", "cost_micros")
SELECT "user_id", ("created_at" AT TIME ZONE 'UTC')::date, count(*), sum("tokens_in"), sum("tokens_out"), sum("total_tokens"), sum("cost_micros")
FROM "llm_usage" GROUP BY 1, 2;--> statement-breakpoint
INSERT INTO "usage_monthly" ("user_id", "month", "feature", "model", "requests", "tokens_in", "tokens_out", "total_tokens", "cost_micros")
SELECT "user_id", date_trunc('month', "created_at" AT TIME ZONE 'UTC')::date, "feature", "model", count(*), sum("tokens_in"), sum("tokens_out"), sum("total_tokens"), sum("cost_micros")
FROM "llm_usage" GROUP BY 1, 2, 3, 4;
