"""Every Lua script, in one place."""

from __future__ import annotations

# Apply a batch of classified clicks and acknowledge them, atomically, each at most once.
# KEYS: stream, then per event 2 keys: click record (also the exactly-once marker) and last-unique
#   marker (the click record's own key when the visitor is unknown: such a click is unique);
#   then the batch's shared keys, each once: link totals, and per promotion 4 in a row: its
#   hours, days, since-posting and all-time hashes.
# ARGV: group, record_ttl_s, then per event 8 values: entry id, ts_ms, hour field prefix
#   (yyyymmddhh), bot family ('' for a click; else a bot hit, also counted as 'bot:<family>' in
#   the link totals, days and all-time: no spaces), record, since-posting prefix ('s<n>'/'D<d>',
#   or '' when the promotion has no posting time), and the 0-based places among the shared keys of its link
#   totals and of its promotion's first key. Days get the hours' counters by 'yyyymmdd'; all-time
#   gets them unprefixed, and the first and last day with events ('first', 'last').
# Counters are summed in the script and written once per key and field; one XACK per batch.
# Returns the number of events counted (those not already counted).
APPLY_CLICKS = """
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
# KEYS: stream, then per event: its applied marker, then its target keys.
# ARGV: group, marker ttl, then per event: entry id, the number of targets, and per target: an
#   operation, n, and n items: 'h' (field, integer delta) pairs to HINCRBY; 'b' bins whose u32
#   BITFIELD counters get 1; 's' days (yyyymmdd) that widen the hash's 'first' and 'last' day.
# Nothing is written for an entry already applied (its marker exists); every entry is acknowledged.
APPLY_CONVERSIONS = """
local stream, group, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local k, a = 2, 3
local applied = 0
while a <= #ARGV do
  local fresh = redis.call('SET', KEYS[k], 1, 'NX', 'EX', ttl)
  local entry, targets = ARGV[a], tonumber(ARGV[a + 1])
  k, a = k + 1, a + 2
  for t = 1, targets do
    local key, op, n = KEYS[k], ARGV[a], tonumber(ARGV[a + 1])
    k, a = k + 1, a + 2
    if op == 'h' then
      if fresh then
        for j = 0, n - 1 do redis.call('HINCRBY', key, ARGV[a + 2*j], ARGV[a + 2*j + 1]) end
      end
      a = a + 2 * n
    else
      if fresh then
        for j = 0, n - 1 do
          if op == 'b' then
            redis.call('BITFIELD', key, 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#' .. ARGV[a + j], 1)
          else
            local day, span = ARGV[a + j], redis.call('HMGET', key, 'first', 'last')
            if not span[1] or day < span[1] then redis.call('HSET', key, 'first', day) end
            if not span[2] or day > span[2] then redis.call('HSET', key, 'last', day) end
          end
        end
      end
      a = a + n
    end
  end
  if fresh then applied = applied + 1 end
  redis.call('XACK', stream, group, entry)
end
return applied
"""

# Bring one promotion's roll-ups made before 2026-11-26 to today's layout: the since-posting
# fields move out of the days hash into their own; the all-time hash (totals, first and last
# day) and the all-time time-to-conversion histogram are rebuilt from the days' own fields, which
# hold everything. Atomic, and the same result when run again, or after roll-ups of the new
# layout: no run of it can count anything twice.
# KEYS: days, since-posting, all-time, time-to-conversion by day, all-time histogram.
MIGRATE_PROMOTION = """
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
"""

# Read-only: a hash, or its fields '<day>:<metric>' for some days and metrics, as one string:
# fields and values joined by spaces, a missing field an empty value. redis-py parses a reply,
# and packs a command, element by element in Python (~3 us each); one string is split in C. For
# roll-up hashes only: their fields and values have no spaces.
# KEYS: the hash. ARGV: nothing (the whole hash, as field value pairs), or the number of days d,
# d days, and the metrics (the values of every day's metrics, day by day).
HASH_JOINED = """
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
"""
