-- Record an order once. KEYS: order index, conversions, conversion order, this order's refunds,
-- refunded, amounts, conversions stream. ARGV: index field, conversion id, record JSON, amount,
-- score, then stream event fields (name, value, ...).
-- Returns {1, id} when recorded, {0, existing id} when the order was already recorded.
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
