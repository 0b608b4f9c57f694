-- Recreate a circuit Redis lost, from its durable copy, unless another process already did.
-- ARGV[4..11] state, generation, failures, successes, last_failure, opened_at, closed_at, forced.
if exists then
  return reply('present')
end
s.state, s.gen, s.failures, s.successes = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]),
                                          tonumber(ARGV[7])
s.last_failure, s.opened_at, s.closed_at, s.forced = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
persist()
return reply('seeded')
