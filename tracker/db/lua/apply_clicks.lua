-- Apply a batch of classified clicks and acknowledge them, atomically, each at most once.
-- KEYS: stream, then per event 2 keys: click record (also the exactly-once marker) and last-unique
--   marker (the click record's own key when the visitor is unknown: such a click is unique);
--   then the batch's shared keys, each once: link totals, and per promotion 4 in a row: its
--   hours, days, since-posting and all-time hashes.
-- ARGV: group, record_ttl_s, then per event 8 values: entry id, ts_ms, hour field prefix
--   (yyyymmddhh), bot family ('' for a click; else a bot hit, also counted as 'bot:<family>' in
--   the link totals, days and all-time: no spaces), record, since-posting prefix ('s<n>'/'D<d>',
--   or '' when the promotion has no posting time), and the 0-based places among the shared keys of its link
--   totals and of its promotion's first key. Days get the hours' counters by 'yyyymmdd'; all-time
--   gets them unprefixed, and the first and last day with events ('first', 'last').
-- Counters are summed in the script and written once per key and field; one XACK per batch.
-- Returns the number of events counted (those not already counted).
local stream, group, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 8
local shared = 1 + 2 * n
local counted = 0
local sums, spans = {}, {}
local function add(key, field)
  local t = sums[key]
  if not t then t = {}; sums[key] = t end
  t[field] = (t[field] or 0) + 1
end
local ids = {}
for i = 0, n - 1 do
  local kc, ku = KEYS[2 + i*2], KEYS[3 + i*2]
  local a = 3 + i*8
  local entry, ts, hour, family, rec, since = ARGV[a], tonumber(ARGV[a+1]), ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5]
  local kt, p = KEYS[shared + 1 + tonumber(ARGV[a+6])], shared + 1 + tonumber(ARGV[a+7])
  local kh, kd, ks, ka = KEYS[p], KEYS[p + 1], KEYS[p + 2], KEYS[p + 3]
  local day = string.sub(hour, 1, 8)
  ids[#ids + 1] = entry
  if redis.call('SET', kc, rec, 'NX', 'EX', ttl) then
    counted = counted + 1
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
    else
      add(kt, 'clicks')
      add(kh, hour .. ':clicks')
      add(kd, day .. ':clicks')
      add(ka, 'clicks')
      if since ~= '' then add(ks, since .. ':clicks') end
      local last = (ku ~= kc) and redis.call('GET', ku)
      if ku == kc or not last or ts - tonumber(last) >= 3600000 then
        add(kt, 'unique_clicks')
        add(kh, hour .. ':unique_clicks')
        add(kd, day .. ':unique_clicks')
        add(ka, 'unique_clicks')
        if ku ~= kc then redis.call('SET', ku, ts, 'EX', 3600) end
      end
    end
  end
end
for key, fields in pairs(sums) do
  for field, delta in pairs(fields) do redis.call('HINCRBY', key, field, delta) end
end
for key, span in pairs(spans) do
  local first, last = redis.call('HMGET', key, 'first', 'last')
  first, last = first[1], first[2]
  if not first or span[1] < first then redis.call('HSET', key, 'first', span[1]) end
  if not last or span[2] > last then redis.call('HSET', key, 'last', span[2]) end
end
if #ids > 0 then redis.call('XACK', stream, group, unpack(ids)) end
return counted
