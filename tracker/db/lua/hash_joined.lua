-- Read-only: a hash, or its fields '<day>:<metric>' for some days and metrics, as one string:
-- fields and values joined by spaces, a missing field an empty value. redis-py parses a reply,
-- and packs a command, element by element in Python (~3 us each); one string is split in C. For
-- roll-up hashes only: their fields and values have no spaces.
-- KEYS: the hash. ARGV: nothing (the whole hash, as field value pairs), or the number of days d,
-- d days, and the metrics (the values of every day's metrics, day by day).
if #ARGV == 0 then return table.concat(redis.call('HGETALL', KEYS[1]), ' ') end
local d = tonumber(ARGV[1])
local fields, out = {}, {}
for i = 2, d + 1 do
  for j = d + 2, #ARGV do fields[#fields + 1] = ARGV[i] .. ':' .. ARGV[j] end
end
for i = 1, #fields, 1000 do
  local values = redis.call('HMGET', KEYS[1], unpack(fields, i, math.min(i + 999, #fields)))
  for j = 1, #values do out[#out + 1] = values[j] or '' end
end
return table.concat(out, ' ')
