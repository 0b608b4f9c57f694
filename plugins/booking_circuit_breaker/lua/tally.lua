-- Counts a process kept for a while (healthy successes, rejections served from its cache) added
-- to the circuits' shared counters, standalone. KEYS[i] a circuit's hash, ARGV[1] the hash TTL in
-- seconds, ARGV[2i] the counter's field and ARGV[2i+1] the count for KEYS[i]. The calls counted
-- refresh the TTL, as every recorded outcome does. A circuit Redis no longer holds is skipped: a
-- hash holding only counters would read as a fresh closed circuit instead of being restored from
-- PostgreSQL.
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, ARGV[2 * i], ARGV[2 * i + 1])
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return 0
