CREATE TABLE "app_spend_counters" (
	"day" text PRIMARY KEY NOT NULL,
	"spent_micros" bigint DEFAULT 0 NOT NULL,
	"last_check_rejected" boolean DEFAULT false NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "app_spend_counters_expires_idx" ON "app_spend_counters" USING btree ("expires_at");