-- Apply a batch of classified clicks of one click shard, acknowledge their stream entries and
-- delete them (the worker archived them first), atomically, each click at most once.
-- The worker groups the batch (tracker.db.scripts.ClickBatch): a counter group is what one
-- counted event adds, and what it adds more when it is a unique click, and the hash its clicks'
-- breakdown values go to; a set of breakdown fields is a click's five. Per event, the script
-- decides only what needs Redis (counted? unique?), counts per group, and writes each key's
-- fields once at the end.
-- KEYS: the shard's stream, then the batch's keys, each once (places below are indexes in KEYS).
-- ARGV: group, marker_ttl_s, the cap of distinct values per dimension, link and day, the number
--   of counter groups, of breakdown groups; then each counter group: the places of its hour's
--   marker set, its link's unique visitors of its hour and of the hour before (0, 0: a bot group,
--   never unique), its promotion's all-time hash, its breakdown hash (0: a bot group), its UTC
--   day ('yyyymmdd'), n then n (place, field) pairs added once per counted event, m then m pairs
--   added once per unique click; then each set of breakdown fields: 5 fields
--   ('<dimension>:<value>', dimensions r, cc, d, b, o); then per event 6 values: entry id, the
--   click id's digest (an integer: small sets stay intsets), its counter group, its set of
--   breakdown fields (0: none, a bot hit), the visitor's digest ('' unknown: the click is
--   unique) and its time in ms.
-- A visitor's click is unique when their last unique click on the link (this hour's hash, else the
-- previous hour's) is an hour old or more. The all-time hash keeps the first and last day with
-- events ('first', 'last'). A breakdown field not yet there when the hash already keeps `cap`
-- values of its dimension ('n:<dimension>') adds to '<dimension>:~' (other) instead, so totals
-- stay exact and memory bounded.
-- Returns the number of events counted (those not already counted).
local stream, group, ttl, cap = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local at = 6

local function fields()  -- n, then n (place, field) pairs, from ARGV[at]
  local n, list = tonumber(ARGV[at]), {}
  for j = 1, n do list[j] = {KEYS[tonumber(ARGV[at + 2 * j - 1])], ARGV[at + 2 * j]} end
  at = at + 2 * n + 1
  return list
end

local groups = {}
for g = 1, tonumber(ARGV[4]) do
  local uv, uv_before = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local t = {seen = KEYS[tonumber(ARGV[at])], all_time = KEYS[tonumber(ARGV[at + 3])],
             breakdown = KEYS[tonumber(ARGV[at + 4])], day = ARGV[at + 5], n = 0, u = 0, sets = {}}
  if uv > 0 then t.uv, t.uv_before = KEYS[uv], KEYS[uv_before] end
  at = at + 6
  t.counted = fields()
  t.unique = fields()
  groups[g] = t
end
local sets = {}
for d = 1, tonumber(ARGV[5]) do
  sets[d] = {ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]}
  at = at + 5
end

local counted, ids, expiring = 0, {}, {}
for i = at, #ARGV, 6 do
  ids[#ids + 1] = ARGV[i]
  local g = groups[tonumber(ARGV[i + 2])]
  if redis.call('SADD', g.seen, ARGV[i + 1]) == 1 then
    counted = counted + 1
    g.n = g.n + 1
    local d = tonumber(ARGV[i + 3])
    if d > 0 then g.sets[d] = (g.sets[d] or 0) + 1 end
    if g.uv then
      local visitor, last = ARGV[i + 4], false
      if visitor ~= '' then
        last = redis.call('HGET', g.uv, visitor) or redis.call('HGET', g.uv_before, visitor)
      end
      if not last or tonumber(ARGV[i + 5]) - tonumber(last) >= 3600000 then
        g.u = g.u + 1
        if visitor ~= '' then
          redis.call('HSET', g.uv, visitor, ARGV[i + 5])
          expiring[g.uv] = 7200
        end
      end
    end
  end
end

local sums, spans, dims = {}, {}, {}
local function add(into, key, field, delta)
  local t = into[key]
  if not t then t = {}; into[key] = t end
  t[field] = (t[field] or 0) + delta
end
for _, g in ipairs(groups) do
  if g.n > 0 then
    expiring[g.seen] = ttl
    for _, kf in ipairs(g.counted) do add(sums, kf[1], kf[2], g.n) end
    if g.u > 0 then
      for _, kf in ipairs(g.unique) do add(sums, kf[1], kf[2], g.u) end
    end
    local span = spans[g.all_time]
    if not span then spans[g.all_time] = {g.day, g.day}
    elseif g.day < span[1] then span[1] = g.day
    elseif g.day > span[2] then span[2] = g.day end
    for d, n in pairs(g.sets) do
      for j = 1, 5 do add(dims, g.breakdown, sets[d][j], n) end
    end
  end
end

for key, deltas in pairs(sums) do  -- each key read and written once (HINCRBY's sum, fewer calls)
  local names = {}
  for field in pairs(deltas) do names[#names + 1] = field end
  if #names == 1 then
    redis.call('HINCRBY', key, names[1], deltas[names[1]])
  else
    local had, writes = redis.call('HMGET', key, unpack(names)), {}
    for j, field in ipairs(names) do
      writes[2 * j - 1] = field
      writes[2 * j] = tonumber(had[j] or '0') + deltas[field]
    end
    redis.call('HSET', key, unpack(writes))
  end
end
local DIMS = {'r', 'cc', 'd', 'b', 'o'}
for key, deltas in pairs(dims) do
  local names = {'n:r', 'n:cc', 'n:d', 'n:b', 'n:o'}
  for field in pairs(deltas) do names[#names + 1] = field end
  local had = redis.call('HMGET', key, unpack(names))
  local kept, writes, other = {}, {}, {}
  for j = 1, 5 do kept[DIMS[j]] = tonumber(had[j] or '0') end
  local changed = {}
  for j = 6, #names do
    local field, delta = names[j], deltas[names[j]]
    if had[j] then
      writes[#writes + 1] = field
      writes[#writes + 1] = tonumber(had[j]) + delta
    else
      local dim = string.match(field, '^[^:]+')
      if kept[dim] < cap then
        kept[dim] = kept[dim] + 1
        changed[dim] = true
        writes[#writes + 1] = field
        writes[#writes + 1] = delta
      else
        other[dim] = (other[dim] or 0) + delta
      end
    end
  end
  for dim in pairs(changed) do
    writes[#writes + 1] = 'n:' .. dim
    writes[#writes + 1] = kept[dim]
  end
  if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
  for dim, delta in pairs(other) do redis.call('HINCRBY', key, dim .. ':~', delta) end
end
for key, span in pairs(spans) do
  local first, last = redis.call('HMGET', key, 'first', 'last')
  first, last = first[1], first[2]
  if not first or span[1] < first then redis.call('HSET', key, 'first', span[1]) end
  if not last or span[2] > last then redis.call('HSET', key, 'last', span[2]) end
end
for key, seconds in pairs(expiring) do redis.call('EXPIRE', key, seconds) end
for j = 1, #ids, 1000 do redis.call('XACK', stream, group, unpack(ids, j, math.min(j + 999, #ids))) end
-- Delete what the group has acknowledged: every entry before its first pending one (another
-- consumer's batch, or one a crashed consumer left), else up to the last one it delivered.
local below = redis.call('XPENDING', stream, group, '-', '+', 1)[1]
if below then
  below = below[1]
else
  for _, info in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local named = {}
    for j = 1, #info, 2 do named[info[j]] = info[j + 1] end
    if named['name'] == group then below = named['last-delivered-id'] end
  end
  local ms, seq = string.match(below, '^(%d+)-(%d+)$')
  below = ms .. '-' .. string.format('%.0f', tonumber(seq) + 1)
end
redis.call('XTRIM', stream, 'MINID', below)
return counted
