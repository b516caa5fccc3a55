"""Every Lua script, in one place."""

from __future__ import annotations

# Apply a batch of classified clicks and acknowledge them, atomically, each at most once.
# KEYS: stream, then per event 4 keys: click record, last-unique marker (the click record's own key
#   when the visitor is unknown: such a click is unique), link totals, promotion hours.
# ARGV: group, record_ttl_s, then per event 6 values:
#   entry id, click id, ts_ms, hour field prefix (yyyymmddhh), bot (0/1), record JSON
# Returns the number of events counted (those not already counted).
APPLY_CLICKS = """
local stream = KEYS[1]
local group = ARGV[1]
local ttl = tonumber(ARGV[2])
local counted = 0
local n = (#KEYS - 1) / 4
for i = 0, n - 1 do
  local kc, ku, kt, kh = KEYS[2 + i*4], KEYS[3 + i*4], KEYS[4 + i*4], KEYS[5 + i*4]
  local a = 3 + i*6
  local entry, ts, hour, bot, rec = ARGV[a], tonumber(ARGV[a+2]), ARGV[a+3], ARGV[a+4], ARGV[a+5]
  if redis.call('EXISTS', kc) == 0 then
    local unique = 0
    if bot == '1' then
      redis.call('HINCRBY', kt, 'bot_hits', 1)
      redis.call('HINCRBY', kh, hour .. ':bot_hits', 1)
    else
      redis.call('HINCRBY', kt, 'clicks', 1)
      redis.call('HINCRBY', kh, hour .. ':clicks', 1)
      local last = redis.call('GET', ku)
      if ku == kc or not last or ts - tonumber(last) >= 3600000 then
        unique = 1
        redis.call('HINCRBY', kt, 'unique_clicks', 1)
        redis.call('HINCRBY', kh, hour .. ':unique_clicks', 1)
        if ku ~= kc then redis.call('SET', ku, ts, 'EX', 3600) end
      end
    end
    redis.call('HSET', kc, 'rec', rec, 'unique', unique)
    redis.call('EXPIRE', kc, ttl)
    counted = counted + 1
  end
  redis.call('XACK', stream, group, entry)
end
return counted
"""
