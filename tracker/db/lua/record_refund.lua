-- Record a refund once per refund id (its amount may only grow: Stripe reports a charge's
-- cumulative refunds). KEYS: order index, this order's refunds, refunded, amounts, conversions
-- stream. ARGV: index field, refund id, amount, refunded-at ms.
-- Returns {0, ''} already seen, {2, ''} kept until the order arrives, {1, id, delta} applied.
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
