-- Apply a batch of classified clicks of one click shard, acknowledge and delete their stream
-- entries (the worker archived them first), atomically, each click at most once.
-- KEYS: the shard's stream, then the batch's keys, each once: sets of the clicks counted per hour
--   (exactly-once markers), hashes of unique visitors per link and hour, link totals, and per
--   promotion 4 in a row: its hours, days, since-posting and all-time hashes, and per link and
--   local day its series and breakdown hashes.
-- ARGV: group, marker_ttl_s, the cap of distinct values per dimension, link and day, then per
--   event 20 values: entry id, ts_ms, hour field prefix
--   (yyyymmddhh), bot family ('' for a click; else a bot hit, also counted as 'bot:<family>' in
--   the link totals, days and all-time: no spaces), since-posting prefix ('s<n>'/'D<d>', or ''
--   when the promotion has no posting time), the click id's digest (an integer: small sets stay
--   intsets), the visitor's digest ('' unknown: the click is unique), then the 1-based places
--   among the batch's keys of: its hour's marker set, its link's unique visitors of its hour and
--   of the hour before, its link totals and its promotion's first key; then its local hour
--   ('yyyymmddHH' in the brand's time zone), its referrer host, country, device, browser and OS
--   (never ''), and the places of its link's series and breakdown hashes of its local day.
-- A visitor's click is unique when their last unique click on the link (this hour's hash, else the
-- previous hour's) is an hour old or more. Days get the hours' counters by 'yyyymmdd'; all-time
-- gets them unprefixed, and the first and last day with events ('first', 'last'). Counters are
-- summed in the script and written once per key and field; one XACK and one XDEL per batch.
-- A click (not a bot hit) adds 1 to '<dimension>:<value>' of its breakdown hash, for dimensions
-- r, cc, d, b, o; a value not yet there when the hash already keeps `cap` values of its
-- dimension adds to '<dimension>:~' (other) instead, so totals stay exact and memory bounded.
-- Returns the number of events counted (those not already counted).
local stream, group, ttl, cap = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local n = (#ARGV - 3) / 20
local DIMS = {'r', 'cc', 'd', 'b', 'o'}
local counted = 0
local sums, spans, expiring, dims = {}, {}, {}, {}
local function add(key, field, into)
  into = into or sums
  local t = into[key]
  if not t then t = {}; into[key] = t end
  t[field] = (t[field] or 0) + 1
end
local ids = {}
for i = 0, n - 1 do
  local a = 4 + i*20
  local entry, ts, hour, family, since = ARGV[a], tonumber(ARGV[a+1]), ARGV[a+2], ARGV[a+3], ARGV[a+4]
  local click, visitor = ARGV[a+5], ARGV[a+6]
  local kseen = KEYS[1 + tonumber(ARGV[a+7])]
  local kuv, kuvprev = KEYS[1 + tonumber(ARGV[a+8])], KEYS[1 + tonumber(ARGV[a+9])]
  local kt, p = KEYS[1 + tonumber(ARGV[a+10])], 1 + tonumber(ARGV[a+11])
  local kh, kd, ks, ka = KEYS[p], KEYS[p + 1], KEYS[p + 2], KEYS[p + 3]
  local local_hour = ARGV[a+12]
  local lh = 'h' .. string.sub(local_hour, 9, 10) .. ':'
  local kls, klb = KEYS[1 + tonumber(ARGV[a+18])], KEYS[1 + tonumber(ARGV[a+19])]
  local day = string.sub(hour, 1, 8)
  ids[#ids + 1] = entry
  if redis.call('SADD', kseen, click) == 1 then
    counted = counted + 1
    expiring[kseen] = ttl
    local span = spans[ka]
    if not span then spans[ka] = {day, day}
    elseif day < span[1] then span[1] = day
    elseif day > span[2] then span[2] = day end
    if family ~= '' then
      local by = 'bot:' .. family
      add(kt, 'bot_hits')
      add(kt, by)
      add(kh, hour .. ':bot_hits')
      add(kd, day .. ':bot_hits')
      add(kd, day .. ':' .. by)
      add(ka, 'bot_hits')
      add(ka, by)
      add(kls, 'bot_hits')
      add(kls, lh .. 'bot_hits')
    else
      add(kt, 'clicks')
      add(kh, hour .. ':clicks')
      add(kd, day .. ':clicks')
      add(ka, 'clicks')
      add(kls, 'clicks')
      add(kls, lh .. 'clicks')
      for d = 1, 5 do add(klb, DIMS[d] .. ':' .. ARGV[a+12+d], dims) end
      if since ~= '' then add(ks, since .. ':clicks') end
      local last = false
      if visitor ~= '' then
        last = redis.call('HGET', kuv, visitor) or redis.call('HGET', kuvprev, visitor)
      end
      if not last or ts - tonumber(last) >= 3600000 then
        add(kt, 'unique_clicks')
        add(kh, hour .. ':unique_clicks')
        add(kd, day .. ':unique_clicks')
        add(ka, 'unique_clicks')
        add(kls, 'unique_clicks')
        add(kls, lh .. 'unique_clicks')
        if visitor ~= '' then
          redis.call('HSET', kuv, visitor, ts)
          expiring[kuv] = 7200
        end
      end
    end
  end
end
for key, fields in pairs(sums) do
  for field, delta in pairs(fields) do redis.call('HINCRBY', key, field, delta) end
end
for key, fields in pairs(dims) do
  local kept = {}
  for field, delta in pairs(fields) do
    if redis.call('HEXISTS', key, field) == 1 then
      redis.call('HINCRBY', key, field, delta)
    else
      local dim = string.match(field, '^[^:]+')
      local count = kept[dim] or tonumber(redis.call('HGET', key, 'n:' .. dim) or '0')
      if count < cap then
        count = count + 1
        redis.call('HINCRBY', key, field, delta)
      else
        redis.call('HINCRBY', key, dim .. ':~', delta)
      end
      kept[dim] = count
    end
  end
  for dim, count in pairs(kept) do redis.call('HSET', key, 'n:' .. dim, count) end
end
for key, span in pairs(spans) do
  local first, last = redis.call('HMGET', key, 'first', 'last')
  first, last = first[1], first[2]
  if not first or span[1] < first then redis.call('HSET', key, 'first', span[1]) end
  if not last or span[2] > last then redis.call('HSET', key, 'last', span[2]) end
end
for key, seconds in pairs(expiring) do redis.call('EXPIRE', key, seconds) end
if #ids > 0 then
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
end
return counted
