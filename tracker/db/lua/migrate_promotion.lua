-- Bring one promotion's roll-ups made before 2026-11-26 to today's layout: the since-posting
-- fields move out of the days hash into their own; the all-time hash (totals, first and last
-- day) and the all-time time-to-conversion histogram are rebuilt from the days' own fields, which
-- hold everything. Atomic, and the same result when run again, or after roll-ups of the new
-- layout: no run of it can count anything twice.
-- KEYS: days, since-posting, all-time, time-to-conversion by day, all-time histogram.
local days, since, alltime, ttc_days, ttc_all = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local flat = redis.call('HGETALL', days)
local sums, moved, first, last = {}, {}, nil, nil
for j = 1, #flat, 2 do
  local field, value = flat[j], flat[j + 1]
  local c = string.sub(field, 1, 1)
  if c == 's' or c == 'D' then
    redis.call('HINCRBY', since, field, value)
    moved[#moved + 1] = field
  else
    local day, metric = string.match(field, '^(%d+):(.+)$')
    sums[metric] = (sums[metric] or 0) + tonumber(value)
    if not first or day < first then first = day end
    if not last or day > last then last = day end
  end
end
for j = 1, #moved, 1000 do redis.call('HDEL', days, unpack(moved, j, math.min(j + 999, #moved))) end
redis.call('DEL', alltime)
for metric, total in pairs(sums) do redis.call('HSET', alltime, metric, string.format('%.0f', total)) end
if first then redis.call('HSET', alltime, 'first', first, 'last', last) end
local bins = {}
flat = redis.call('HGETALL', ttc_days)
for j = 1, #flat, 2 do
  local bin = tonumber(string.match(flat[j], ':(%d+)$'))
  bins[bin] = (bins[bin] or 0) + tonumber(flat[j + 1])
end
redis.call('DEL', ttc_all)
for bin, count in pairs(bins) do
  redis.call('BITFIELD', ttc_all, 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#' .. bin, count)
end
return #moved
