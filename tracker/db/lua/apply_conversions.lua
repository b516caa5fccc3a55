-- Fold a batch of conversion events into roll-ups and acknowledge them, each entry once.
-- KEYS: stream, then per event: its applied marker, then its target keys.
-- ARGV: group, marker ttl, then per event: entry id, the number of targets, and per target: an
--   operation, n, and n items: 'h' (field, integer delta) pairs to HINCRBY; 'b' bins whose u32
--   BITFIELD counters get 1; 's' days (yyyymmdd) that widen the hash's 'first' and 'last' day.
-- Nothing is written for an entry already applied (its marker exists); every entry is acknowledged.
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
