-- May a call run now? ARGV[4] cooldown ms, ARGV[5] success threshold, ARGV[6] lease ms,
-- ARGV[7] probe token. Open past its cooldown becomes half_open; half_open admits a probe
-- while successes + live leases stay below the success threshold.
if not exists then
  return {'absent'}
end
local cooldown, threshold, lease = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if s.state == 'open' then
  local wait = cooldown
  if s.forced == '' then
    wait = tonumber(s.opened_at ~= '' and s.opened_at or '0') + cooldown - now()
  end
  if wait > 0 then
    count('n_rejected')
    return reply('reject', wait)
  end
  go('half_open')
  persist()
end
if s.state == 'half_open' then
  redis.call('ZREMRANGEBYSCORE', P, '-inf', now())
  if s.successes + redis.call('ZCARD', P) >= threshold then
    count('n_rejected')
    local first = redis.call('ZRANGE', P, 0, 0, 'WITHSCORES')
    return reply('busy', tonumber(first[2]) - now())
  end
  redis.call('ZADD', P, now() + lease, ARGV[7])
  redis.call('PEXPIRE', P, lease)
  return reply('probe')
end
return reply('admit')
