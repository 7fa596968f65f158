-- Reserves one request for a user in one statement, so a reservation costs one round trip. It
-- takes a per-user advisory lock, held until the statement's transaction ends. Then it deletes
-- the user's stale rows, reads the counters and decides. An admitted request is counted and,
-- with a spend cap, its estimated cost is added to the day's spend.
--
-- The admission test must stay the same as decideReservation in lib/limits/store.ts, which the
-- store runs again on the returned counters to name a rejection. With a spend cap, the cost
-- passed in is the estimate for p_cost_output_cap. When the output cap decided here differs
-- (the day's budget clamped it), nothing is written and the outcome is 'reprice', so that the
-- caller can price the returned output cap and call again.
--
-- Outcomes: 'admitted', 'rejected' (a user limit), 'spend_rejected' (the app-wide cap; the
-- user's counters are left as they were) and 'reprice'. The counters returned are as they
-- were before this request.
CREATE OR REPLACE FUNCTION tollgate_reserve(
  p_user_id uuid,
  p_day text,
  p_now timestamptz,
  p_window_start timestamptz,
  p_expires_at timestamptz,
  p_requests_per_minute integer,
  p_requests_per_day integer,
  p_tokens_per_day bigint,
  p_prompt_tokens integer,
  p_max_output_tokens integer,
  p_min_output_tokens integer,
  p_spend_cap_micros bigint,
  p_cost_micros bigint,
  p_cost_output_cap integer
) RETURNS TABLE (
  outcome text,
  requests_this_minute integer,
  oldest_in_minute timestamptz,
  blocking_in_minute timestamptz,
  requests_today integer,
  tokens_today bigint,
  output_cap integer
)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  v_requests integer;
  v_tokens bigint;
  v_in_minute integer;
  v_oldest timestamptz;
  v_blocking timestamptz;
  v_output_cap bigint;
  v_event_id bigint;
  v_spend_rejected boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_user_id::text, 0));
  DELETE FROM rate_events WHERE user_id = p_user_id AND at <= p_window_start;
  DELETE FROM limit_counters WHERE user_id = p_user_id AND expires_at < p_now;

  SELECT requests, tokens INTO v_requests, v_tokens FROM limit_counters WHERE user_id = p_user_id AND day = p_day;
  v_requests := coalesce(v_requests, 0);
  v_tokens := coalesce(v_tokens, 0);
  SELECT count(*), min(at) INTO v_in_minute, v_oldest FROM rate_events WHERE user_id = p_user_id AND at > p_window_start;
  IF v_in_minute >= p_requests_per_minute THEN
    -- The request whose leaving makes room: the oldest, unless a lowered plan left more requests
    -- in the window than the plan allows.
    SELECT at INTO v_blocking FROM rate_events WHERE user_id = p_user_id AND at > p_window_start
      ORDER BY at OFFSET v_in_minute - p_requests_per_minute LIMIT 1;
  END IF;

  v_output_cap := least(p_max_output_tokens, p_tokens_per_day - v_tokens - p_prompt_tokens);
  IF v_requests >= p_requests_per_day OR v_output_cap < p_min_output_tokens OR v_in_minute >= p_requests_per_minute THEN
    RETURN QUERY SELECT 'rejected'::text, v_in_minute, v_oldest, v_blocking, v_requests, v_tokens, 0;
    RETURN;
  END IF;
  IF p_spend_cap_micros IS NOT NULL AND v_output_cap <> p_cost_output_cap THEN
    RETURN QUERY SELECT 'reprice'::text, v_in_minute, v_oldest, v_blocking, v_requests, v_tokens, v_output_cap::integer;
    RETURN;
  END IF;

  INSERT INTO limit_counters (user_id, day, requests, tokens, expires_at)
    VALUES (p_user_id, p_day, 1, p_prompt_tokens + v_output_cap, p_expires_at)
    ON CONFLICT (user_id, day) DO UPDATE
      SET requests = limit_counters.requests + 1, tokens = limit_counters.tokens + excluded.tokens;
  INSERT INTO rate_events (user_id, at) VALUES (p_user_id, p_now) RETURNING id INTO v_event_id;

  IF p_spend_cap_micros IS NOT NULL THEN
    -- The spend row is locked after the user's row, in the same order as settlement locks them.
    -- It stays locked until the statement commits, so every reservation with a cap takes its turn here.
    INSERT INTO app_spend_counters AS spend (day, spent_micros, last_check_rejected, expires_at)
      VALUES (p_day,
              CASE WHEN p_cost_micros <= p_spend_cap_micros THEN p_cost_micros ELSE 0 END,
              p_cost_micros > p_spend_cap_micros,
              p_expires_at)
      ON CONFLICT (day) DO UPDATE SET
        spent_micros = CASE WHEN spend.spent_micros + p_cost_micros <= p_spend_cap_micros
                            THEN spend.spent_micros + p_cost_micros ELSE spend.spent_micros END,
        last_check_rejected = spend.spent_micros + p_cost_micros > p_spend_cap_micros
      RETURNING last_check_rejected INTO v_spend_rejected;
    IF v_spend_rejected THEN
      -- Undone by hand rather than rolled back, because the rejection recorded on the spend row
      -- must persist.
      UPDATE limit_counters SET requests = requests - 1, tokens = tokens - (p_prompt_tokens + v_output_cap)
        WHERE user_id = p_user_id AND day = p_day;
      DELETE FROM rate_events WHERE id = v_event_id;
      RETURN QUERY SELECT 'spend_rejected'::text, v_in_minute, v_oldest, v_blocking, v_requests, v_tokens, v_output_cap::integer;
      RETURN;
    END IF;
  END IF;

  RETURN QUERY SELECT 'admitted'::text, v_in_minute, v_oldest, v_blocking, v_requests, v_tokens, v_output_cap::integer;
END
$$;
--> statement-breakpoint
-- Replaces a reservation's tokens and cost with what the call used, in one statement. The user's
-- row is updated before the spend row, the order in which tollgate_reserve locks them, so a
-- settlement and a reservation never wait on each other's rows in opposite orders.
CREATE OR REPLACE FUNCTION tollgate_settle(
  p_user_id uuid,
  p_day text,
  p_token_difference bigint,
  p_cost_difference bigint
) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
  IF p_token_difference <> 0 THEN
    UPDATE limit_counters SET tokens = greatest(0, tokens + p_token_difference)
      WHERE user_id = p_user_id AND day = p_day;
  END IF;
  IF p_cost_difference <> 0 THEN
    UPDATE app_spend_counters SET spent_micros = greatest(0, spent_micros + p_cost_difference)
      WHERE day = p_day;
  END IF;
END
$$;
