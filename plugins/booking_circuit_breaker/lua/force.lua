-- A manual override. ARGV[4] 'open' (held open until closed), 'close', or 'reset'
-- (closed with no history).
if ARGV[4] == 'open' then
  go('open')
  s.forced = '1'
else
  go('closed')
  if ARGV[4] == 'reset' then
    s.closed_at = ''
  end
end
persist()
return reply('forced')
