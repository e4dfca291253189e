/**
 * The one script behind `RedisThrottlerStorage.increment()`: the algorithm of `@nestjs/throttler` 6's in-memory
 * `ThrottlerStorageService`, step for step, on the server's clock, so that every app instance shares one limit
 * and one clock.
 *
 * KEYS[1] `hits`: a sorted set with one member per live hit, scored by the hit's expiry (ms since the epoch).
 * KEYS[2] `state`: a hash; `w` the end of the current window, `b` the end of the block while blocked, `h` the
 * latest hit expiry. Both keys expire together once nothing in them matters any more (window over, block over,
 * every hit expired), which is the state the in-memory storage's sweep would evict.
 * ARGV: ttl (ms), limit, blockDuration (ms; 0 or less means the no-block path).
 *
 * Reply: `{ totalHits, window ms left, blocked (1 or 0), block ms left (0 unless blocked) }`. The caller turns
 * the milliseconds into seconds with `Math.ceil(ms / 1000)`, as the in-memory storage does.
 */
export const THROTTLER_INCREMENT_LUA = `
-- Redis before 5 replicates the script, not its effects, and refuses writes after TIME unless told.
if redis.replicate_commands then redis.replicate_commands() end
local hitsKey, stateKey = KEYS[1], KEYS[2]
local ttl, limit, blockDuration = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

redis.call('ZREMRANGEBYSCORE', hitsKey, '-inf', now)
local hits = redis.call('ZCARD', hitsKey)
local state = redis.call('HMGET', stateKey, 'w', 'b', 'h')
local windowEnd = tonumber(state[1])
local blockEnd = tonumber(state[2])
local lastHit = tonumber(state[3]) or 0
if windowEnd == nil or windowEnd <= now then windowEnd = now + ttl end

local function hit()
  hits = hits + 1
  if now + ttl > lastHit then lastHit = now + ttl end
  redis.call('ZADD', hitsKey, now + ttl, clock[1] .. '.' .. clock[2] .. ':' .. hits)
end

local totalHits, blocked, blockLeft
if blockDuration > 0 then
  blocked = blockEnd ~= nil
  if not blocked then hit() end
  if not blocked and hits > limit then
    blocked = true
    blockEnd = now + blockDuration
  end
  blockLeft = 0
  if blocked then
    blockLeft = blockEnd - now
    if blockLeft <= 0 then
      blocked = false
      blockEnd = nil
      blockLeft = 0
      redis.call('DEL', hitsKey)
      hits = 0
      hit()
    end
  end
  totalHits = hits
else
  blocked = hits >= limit
  if not blocked then hit() end
  totalHits = blocked and hits + 1 or hits
  blockLeft = 0
  if blocked then
    local first = redis.call('ZRANGE', hitsKey, 0, 0, 'WITHSCORES')
    blockLeft = first[2] and tonumber(first[2]) - now or windowEnd - now
  end
end

local deadline = windowEnd
if lastHit > deadline then deadline = lastHit end
if blockEnd then
  if blockEnd > deadline then deadline = blockEnd end
  redis.call('HSET', stateKey, 'w', windowEnd, 'h', lastHit, 'b', blockEnd)
else
  redis.call('HSET', stateKey, 'w', windowEnd, 'h', lastHit)
  if state[2] then redis.call('HDEL', stateKey, 'b') end
end
redis.call('PEXPIREAT', stateKey, deadline)
redis.call('PEXPIREAT', hitsKey, deadline)
return { totalHits, windowEnd - now, blocked and 1 or 0, blockLeft }
`;
