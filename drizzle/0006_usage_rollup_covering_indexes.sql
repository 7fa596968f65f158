DROP INDEX "usage_daily_day_idx";--> statement-breakpoint
DROP INDEX "usage_monthly_month_idx";--> statement-breakpoint
CREATE INDEX "usage_daily_day_idx" ON "usage_daily" USING btree ("day","user_id","requests","total_tokens","cost_micros");--> statement-breakpoint
CREATE INDEX "usage_monthly_month_idx" ON "usage_monthly" USING btree ("month","user_id","feature","model","requests","total_tokens","cost_micros");