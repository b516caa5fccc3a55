"""Every Lua script, in one place."""

from __future__ import annotations

# Apply a batch of classified clicks and acknowledge them, atomically, each at most once.
# KEYS: stream, then per event 2 keys: click record (also the exactly-once marker) and last-unique
#   marker (the click record's own key when the visitor is unknown: such a click is unique);
#   then the batch's link-totals, promotion-hours and promotion-days keys, each once.
# ARGV: group, record_ttl_s, then per event 9 values: entry id, ts_ms, hour field prefix
#   (yyyymmddhh), bot (0/1), record, since-posting prefix ('s<n>'/'D<d>', or '' when the
#   promotion has no posting time), and the 0-based places of its link-totals, promotion-hours
#   and promotion-days keys among the shared keys. Days get the hours' counters by 'yyyymmdd',
#   and the since-posting ones.
# Counters are summed in the script and written once per key and field; one XACK per batch.
# Returns the number of events counted (those not already counted).
APPLY_CLICKS = """
local stream, group, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local n = (#ARGV - 2) / 9
local shared = 1 + 2 * n
local counted = 0
local sums = {}
local function add(key, field)
  local t = sums[key]
  if not t then t = {}; sums[key] = t end
  t[field] = (t[field] or 0) + 1
end
local ids = {}
for i = 0, n - 1 do
  local kc, ku = KEYS[2 + i*2], KEYS[3 + i*2]
  local a = 3 + i*9
  local entry, ts, hour, bot, rec, since = ARGV[a], tonumber(ARGV[a+1]), ARGV[a+2], ARGV[a+3], ARGV[a+4], ARGV[a+5]
  local kt, kh = KEYS[shared + 1 + tonumber(ARGV[a+6])], KEYS[shared + 1 + tonumber(ARGV[a+7])]
  local kd, day = KEYS[shared + 1 + tonumber(ARGV[a+8])], string.sub(hour, 1, 8)
  ids[#ids + 1] = entry
  if redis.call('SET', kc, rec, 'NX', 'EX', ttl) then
    counted = counted + 1
    if bot == '1' then
      add(kt, 'bot_hits')
      add(kh, hour .. ':bot_hits')
      add(kd, day .. ':bot_hits')
    else
      add(kt, 'clicks')
      add(kh, hour .. ':clicks')
      add(kd, day .. ':clicks')
      if since ~= '' then add(kd, since .. ':clicks') end
      local last = (ku ~= kc) and redis.call('GET', ku)
      if ku == kc or not last or ts - tonumber(last) >= 3600000 then
        add(kt, 'unique_clicks')
        add(kh, hour .. ':unique_clicks')
        add(kd, day .. ':unique_clicks')
        if ku ~= kc then redis.call('SET', ku, ts, 'EX', 3600) end
      end
    end
  end
end
for key, fields in pairs(sums) do
  for field, delta in pairs(fields) do redis.call('HINCRBY', key, field, delta) end
end
if #ids > 0 then redis.call('XACK', stream, group, unpack(ids)) end
return counted
"""

# Record an order once. KEYS: order index, conversions, conversion order, this order's refunds,
# refunded, amounts, conversions stream. ARGV: index field, conversion id, record JSON, amount,
# score, then stream event fields (name, value, ...).
# Returns {1, id} when recorded, {0, existing id} when the order was already recorded.
RECORD_ORDER = """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
redis.call('HSET', KEYS[6], ARGV[2], ARGV[4])
local amount = tonumber(ARGV[4])
local refunded = 0
for _, v in ipairs(redis.call('HVALS', KEYS[4])) do refunded = refunded + tonumber(v) end
if refunded > amount then refunded = amount end
refunded = string.format('%.0f', refunded)
redis.call('HSET', KEYS[5], ARGV[2], refunded)
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
fields[#fields + 1] = 'refunded'
fields[#fields + 1] = refunded
redis.call('XADD', KEYS[7], '*', unpack(fields))
return {1, ARGV[2]}
"""

# Record a refund once per refund id (its amount may only grow: Stripe reports a charge's
# cumulative refunds). KEYS: order index, this order's refunds, refunded, amounts, conversions
# stream. ARGV: index field, refund id, amount, refunded-at ms.
# Returns {0, ''} already seen, {2, ''} kept until the order arrives, {1, id, delta} applied.
RECORD_REFUND = """
local old = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local amount = tonumber(ARGV[3])
if amount <= old then return {0, ''} end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local conv = redis.call('HGET', KEYS[1], ARGV[1])
if not conv then return {2, ''} end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do total = total + tonumber(v) end
local cap = tonumber(redis.call('HGET', KEYS[4], conv))
if total > cap then total = cap end
local before = tonumber(redis.call('HGET', KEYS[3], conv) or '0')
local delta = total - before
if delta > 0 then
  redis.call('HSET', KEYS[3], conv, string.format('%.0f', total))
  redis.call('XADD', KEYS[5], '*', 'kind', 'refund', 'id', conv, 'amount', string.format('%.0f', delta),
             'total', string.format('%.0f', total), 'cap', string.format('%.0f', cap), 'at', ARGV[4])
end
return {1, conv, string.format('%.0f', delta)}
"""

# Fold a batch of conversion events into roll-ups and acknowledge them, each entry once.
# KEYS: stream, then per event 5 keys: applied marker, hourly hash and daily hash (the
#   promotion's, or the brand's unattributed ones), the time-to-conversion histograms by day and
#   of all time (or the marker again: none).
# ARGV: group, marker ttl, then per event: entry id, n and n (field, integer delta) pairs for the
#   hourly hash, m and m pairs for the daily hash, then h and h (day histogram field, bin) pairs.
APPLY_CONVERSIONS = """
local stream, group, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local a = 3
local applied = 0
local n_events = (#KEYS - 1) / 5
for i = 0, n_events - 1 do
  local k = 2 + i*5
  local marker, hourly, daily, hist, total = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local entry = ARGV[a]
  a = a + 1
  local fresh = redis.call('SET', marker, 1, 'NX', 'EX', ttl)
  for _, target in ipairs({hourly, daily}) do
    local n = tonumber(ARGV[a])
    a = a + 1
    for j = 1, n do
      if fresh then redis.call('HINCRBY', target, ARGV[a], ARGV[a + 1]) end
      a = a + 2
    end
  end
  local m = tonumber(ARGV[a])
  a = a + 1
  for j = 1, m do
    if fresh then
      redis.call('HINCRBY', hist, ARGV[a], 1)
      redis.call('BITFIELD', total, 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#' .. ARGV[a + 1], 1)
    end
    a = a + 2
  end
  if fresh then applied = applied + 1 end
  redis.call('XACK', stream, group, entry)
end
return applied
"""

# Once per brand, for roll-ups made before the all-time time-to-conversion histograms: build
# each promotion's from its histogram by day, and record the migration, in one atomic step (no
# roll-up runs in between). KEYS: the schema hash, then per promotion its day hash and its
# all-time string. ARGV: the migration's name, when. Returns promotions migrated, -1 if done before.
MIGRATE_TTC_ALL_TIME = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
local done = 0
for i = 2, #KEYS, 2 do
  local sums = {}
  local flat = redis.call('HGETALL', KEYS[i])
  for j = 1, #flat, 2 do
    local bin = tonumber(string.match(flat[j], ':(%d+)$'))
    sums[bin] = (sums[bin] or 0) + tonumber(flat[j + 1])
  end
  redis.call('DEL', KEYS[i + 1])
  for bin, count in pairs(sums) do
    redis.call('BITFIELD', KEYS[i + 1], 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#' .. bin, count)
  end
  if #flat > 0 then done = done + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return done
"""
