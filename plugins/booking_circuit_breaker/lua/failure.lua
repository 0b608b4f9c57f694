-- A call failed. ARGV[4] the generation it was admitted under ('' = current),
-- ARGV[5] failure threshold, ARGV[6] its probe token, ARGV[7] '1' when it timed out.
-- Consecutive failures stay counted while open (BEHAVIOUR §G-13).
if not exists then
  return {'absent'}
end
count('n_failure')
if ARGV[7] == '1' then
  count('n_timeout')
end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= s.gen then
  return reply('stale')
end
if s.state ~= 'open' then
  s.failures, s.last_failure = s.failures + 1, now()
  if s.state == 'half_open' or s.failures >= tonumber(ARGV[5]) then
    go('open')
  end
end
persist()
return reply('recorded')
