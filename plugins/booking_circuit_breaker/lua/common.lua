-- Shared head of every breaker script (prepended at load time).
-- KEYS[1] the circuit's hash, KEYS[2] its probe leases (zset: token -> expiry ms),
-- KEYS[3] the index of known circuits. ARGV[1] now in ms ('' = Redis' own clock),
-- ARGV[2] hash TTL in seconds, ARGV[3] the circuit key (for the index).
-- Times are integer milliseconds; '' means "none".
local H, P, INDEX = KEYS[1], KEYS[2], KEYS[3]
-- The clock is read only when needed: TIME costs more than the rest of a closed-path success.
local now_ms
local function now()
  if not now_ms then
    if ARGV[1] ~= '' then
      now_ms = tonumber(ARGV[1])
    else
      local t = redis.call('TIME')
      now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end
  end
  return now_ms
end
local ttl = tonumber(ARGV[2])
local exists = redis.call('EXISTS', H) == 1
local f = redis.call('HMGET', H, 'state', 'gen', 'failures', 'successes', 'last_failure',
                     'opened_at', 'closed_at', 'forced')
local s = {state = f[1] or 'closed', gen = tonumber(f[2] or '0'),
           failures = tonumber(f[3] or '0'), successes = tonumber(f[4] or '0'),
           last_failure = f[5] or '', opened_at = f[6] or '', closed_at = f[7] or '',
           forced = f[8] or ''}
local transition, previous = '', ''

local function count(name)
  redis.call('HINCRBY', H, name, 1)
end

-- 'healthy' is the generation while closed with no failure counted ('' otherwise): the healthy
-- path's success is one HGET of it (a success then changes nothing but the counters). Only
-- these scripts write this hash (the key carries the layout version, shared.LAYOUT_VERSION).
local function persist()
  local healthy = ''
  if s.state == 'closed' and s.failures == 0 and s.last_failure == '' then
    healthy = s.gen
  end
  redis.call('HSET', H, 'state', s.state, 'gen', s.gen, 'failures', s.failures,
             'successes', s.successes, 'last_failure', s.last_failure,
             'opened_at', s.opened_at, 'closed_at', s.closed_at, 'forced', s.forced,
             'healthy', healthy)
  redis.call('EXPIRE', H, ttl)
  if not exists then
    redis.call('SADD', INDEX, ARGV[3])
  end
end

-- A transition: a new generation (late results of the old one are discarded), probes dropped.
local function go(state)
  previous = s.state
  s.state, s.gen, transition = state, s.gen + 1, state
  s.successes = 0
  redis.call('DEL', P)
  count('n_' .. state)
  if state == 'open' then
    s.opened_at = now()
  elseif state == 'closed' then
    s.closed_at, s.opened_at, s.failures, s.last_failure, s.forced = now(), '', 0, '', ''
  end
end

-- The short reply (verdict, state, generation, retry_after) is all a call needs; the whole
-- snapshot comes back only with a transition, which the caller stores.
local function reply(verdict, retry_after)
  local short = {verdict, s.state, s.gen, math.max(0, retry_after or 0)}
  if transition == '' then
    return short
  end
  return {verdict, s.state, s.gen, math.max(0, retry_after or 0), s.failures, s.successes,
          tostring(s.last_failure), tostring(s.opened_at), tostring(s.closed_at), transition,
          previous, s.forced, now()}
end
