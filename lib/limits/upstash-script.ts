/**
 * Lua scripts of the Upstash counter store. Each runs atomically in Redis. Every key a script
 * touches is passed in KEYS, and one script only touches keys of one hash slot: a user's keys
 * share the hash tag `{userId}`, and the app-wide spend key is used alone. So the scripts also
 * run on Redis Cluster.
 *
 * Times are the app's clock in milliseconds, passed in ARGV, so every store decides with the
 * same `now`. Scores and counters stay below 2^53, which Lua numbers hold exactly.
 */

/**
 * Checks a user's limits and, if all pass, counts the request and reserves its tokens. The
 * admission test must stay the same as `decideReservation` in store.ts, which then names the
 * rejection.
 *
 * KEYS[1] minute window (sorted set: member per admitted request, scored by its time in ms)
 * KEYS[2] day counters (hash: requests, tokens)
 * ARGV    now ms, window ms, member, requests per minute, requests per day, tokens per day,
 *         prompt tokens, max output tokens, min output tokens, day counters' TTL in ms
 *
 * Returns { admitted 0/1, requests in the minute, oldest score or -1, blocking score or -1,
 * requests today, tokens today, output cap }, with the counters as they were before admission.
 */
export const RESERVE_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local perMinute = tonumber(ARGV[4])
local perDay = tonumber(ARGV[5])
local tokensPerDay = tonumber(ARGV[6])
local promptTokens = tonumber(ARGV[7])
local maxOutput = tonumber(ARGV[8])
local minOutput = tonumber(ARGV[9])

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local inMinute = redis.call('ZCARD', KEYS[1])
local oldest = -1
if inMinute > 0 then
  oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
local blocking = -1
if inMinute >= perMinute then
  local index = inMinute - perMinute
  blocking = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')[2]
end

local day = redis.call('HMGET', KEYS[2], 'requests', 'tokens')
local requestsToday = tonumber(day[1]) or 0
local tokensToday = tonumber(day[2]) or 0
local outputCap = math.min(maxOutput, tokensPerDay - tokensToday - promptTokens)

if inMinute >= perMinute or requestsToday >= perDay or outputCap < minOutput then
  return { 0, inMinute, oldest, blocking, requestsToday, tokensToday, 0 }
end

redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
redis.call('HINCRBY', KEYS[2], 'requests', 1)
redis.call('HINCRBY', KEYS[2], 'tokens', promptTokens + outputCap)
redis.call('PEXPIRE', KEYS[2], ARGV[10])
return { 1, inMinute, oldest, blocking, requestsToday, tokensToday, outputCap }
`;

/**
 * Takes back one admission that RESERVE_SCRIPT made, when the spend cap then rejects it.
 *
 * KEYS[1] minute window, KEYS[2] day counters; ARGV member, reserved tokens.
 */
export const UNDO_RESERVATION_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], 'requests', -1) < 0 then
    redis.call('HSET', KEYS[2], 'requests', 0)
  end
  if redis.call('HINCRBY', KEYS[2], 'tokens', -tonumber(ARGV[2])) < 0 then
    redis.call('HSET', KEYS[2], 'tokens', 0)
  end
end
return 1
`;

/**
 * Adds a signed amount to one field of a counter hash, never going below 0. A key that has
 * expired is left alone, so settlement never creates a key without a TTL.
 *
 * KEYS[1] counter hash; ARGV field, amount. Returns the new value, or -1 when the key is gone.
 */
export const ADJUST_COUNTER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local value = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if value < 0 then
  redis.call('HSET', KEYS[1], ARGV[1], 0)
  value = 0
end
return value
`;

/**
 * Adds a request's estimated cost to the app's spend for the day unless that would pass the
 * cap, and records whether this check rejected.
 *
 * KEYS[1] spend hash (spent, rejected); ARGV cost, cap, TTL in ms.
 * Returns { admitted 0/1, spent after the check }.
 */
export const RESERVE_SPEND_SCRIPT = `
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent')) or 0
local cost = tonumber(ARGV[1])
local admitted = 0
if spent + cost <= tonumber(ARGV[2]) then
  spent = redis.call('HINCRBY', KEYS[1], 'spent', cost)
  admitted = 1
end
redis.call('HSET', KEYS[1], 'rejected', 1 - admitted)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { admitted, spent }
`;

/**
 * Reads a user's counters without changing them.
 *
 * KEYS[1] minute window, KEYS[2] day counters; ARGV start of the window in ms (exclusive).
 * Returns { requests in the minute, oldest score or -1, requests today, tokens today }.
 */
export const PEEK_SCRIPT = `
local windowStart = '(' .. ARGV[1]
local inMinute = redis.call('ZCOUNT', KEYS[1], windowStart, '+inf')
local oldest = -1
if inMinute > 0 then
  oldest = redis.call('ZRANGE', KEYS[1], windowStart, '+inf', 'BYSCORE', 'LIMIT', 0, 1, 'WITHSCORES')[2]
end
local day = redis.call('HMGET', KEYS[2], 'requests', 'tokens')
return { inMinute, oldest, tonumber(day[1]) or 0, tonumber(day[2]) or 0 }
`;
