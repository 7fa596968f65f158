-- Records one call in one statement, so it costs one round trip: optionally settles the call's
-- reservation, then inserts its usage row and adds the row to the user's daily and monthly
-- rollups. Everything runs in the statement's own transaction, so the rollups' sums stay equal
-- to those of llm_usage, and a settlement is never stored without its usage row or the reverse.
--
-- p_settle_day is null when the counters are not in this database (Redis) or when the
-- reservation needs no change. The settlement comes first and updates the user's counter row
-- before the spend row, the order in which tollgate_reserve locks them.
--
-- A chat deleted while its call ran leaves the usage row without a chat id, as deleting the chat
-- afterwards would (the foreign key is ON DELETE SET NULL), instead of failing the insert. A
-- deletion that commits while this statement runs still fails it with a foreign-key violation,
-- and then nothing is stored, so the caller can call again.
-- The UTC day and month of the rollups come from the stored created_at, which is the database's
-- clock when p_created_at is null.
CREATE OR REPLACE FUNCTION tollgate_record_usage(
  p_user_id uuid,
  p_request_id text,
  p_feature text,
  p_model text,
  p_tokens_in integer,
  p_tokens_out integer,
  p_tokens_cached integer,
  p_cost_micros bigint,
  p_latency_ms integer,
  p_status text,
  p_usage_source text,
  p_chat_id uuid,
  p_created_at timestamptz,
  p_settle_day text,
  p_token_difference bigint,
  p_cost_difference bigint
) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_chat_id uuid;
  v_created_at timestamptz;
  v_day date;
  v_total_tokens integer := p_tokens_in + p_tokens_out;
BEGIN
  IF p_settle_day IS NOT NULL THEN
    PERFORM tollgate_settle(p_user_id, p_settle_day, p_token_difference, p_cost_difference);
  END IF;

  IF p_chat_id IS NOT NULL THEN
    SELECT id INTO v_chat_id FROM chats WHERE id = p_chat_id;
  END IF;

  INSERT INTO llm_usage (user_id, request_id, feature, model, tokens_in, tokens_out, tokens_cached, total_tokens,
                         cost_micros, latency_ms, status, usage_source, chat_id, created_at)
    VALUES (p_user_id, p_request_id, p_feature, p_model, p_tokens_in, p_tokens_out, p_tokens_cached, v_total_tokens,
            p_cost_micros, p_latency_ms, p_status, p_usage_source, v_chat_id, coalesce(p_created_at, now()))
    RETURNING created_at INTO v_created_at;
  v_day := (v_created_at AT TIME ZONE 'UTC')::date;

  INSERT INTO usage_daily AS rollup (user_id, day, requests, tokens_in, tokens_out, total_tokens, cost_micros)
    VALUES (p_user_id, v_day, 1, p_tokens_in, p_tokens_out, v_total_tokens, p_cost_micros)
    ON CONFLICT (user_id, day) DO UPDATE SET
      requests = rollup.requests + 1,
      tokens_in = rollup.tokens_in + excluded.tokens_in,
      tokens_out = rollup.tokens_out + excluded.tokens_out,
      total_tokens = rollup.total_tokens + excluded.total_tokens,
      cost_micros = rollup.cost_micros + excluded.cost_micros;
  INSERT INTO usage_monthly AS rollup (user_id, month, feature, model, requests, tokens_in, tokens_out, total_tokens, cost_micros)
    VALUES (p_user_id, v_day - (extract(day FROM v_day)::integer - 1), p_feature, p_model, 1, p_tokens_in, p_tokens_out, v_total_tokens, p_cost_micros)
    ON CONFLICT (user_id, month, feature, model) DO UPDATE SET
      requests = rollup.requests + 1,
      tokens_in = rollup.tokens_in + excluded.tokens_in,
      tokens_out = rollup.tokens_out + excluded.tokens_out,
      total_tokens = rollup.total_tokens + excluded.total_tokens,
      cost_micros = rollup.cost_micros + excluded.cost_micros;
END
$$;
