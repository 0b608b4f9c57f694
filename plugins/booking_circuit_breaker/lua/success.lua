-- A call succeeded. ARGV[4] the generation it was admitted under ('' = current),
-- ARGV[5] success threshold, ARGV[6] its probe token ('' = none).
if not exists then
  return {'absent'}
end
count('n_success')
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= s.gen then
  return reply('stale')
end
if s.state == 'half_open' then
  if ARGV[6] ~= '' then
    redis.call('ZREM', P, ARGV[6])
  end
  s.successes = s.successes + 1
  if s.successes >= tonumber(ARGV[5]) then
    go('closed')
  end
elseif s.state == 'closed' then
  if s.failures == 0 and s.last_failure == '' then  -- nothing changes but the TTL
    redis.call('EXPIRE', H, ttl)
    return reply('recorded')
  end
  s.failures, s.last_failure = 0, ''
end
persist()
return reply('recorded')
