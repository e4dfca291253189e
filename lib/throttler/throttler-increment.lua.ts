/**
 * The one script behind `RedisThrottlerStorage.increment()`: the algorithm of `@nestjs/throttler` 6's in-memory
 * `ThrottlerStorageService`, step for step, on the server's clock, so that every app instance shares one limit
 * and one clock.
 *
 * KEYS[1] is the record, one string of 6-byte big-endian integers (ms since the epoch): the end of the current
 * window, the end of the block (0 while not blocked), the key's own expiry, then each hit's expiry, oldest first.
 * One key, so a cluster never splits a record; a string, because reading it whole and adding a hit with APPEND
 * costs the server far less than a sorted set (measured: under half). Expired hits at the front are skipped and
 * dropped whenever the record is rewritten (its header changed, eight or more expired, or the key must live
 * longer). The key lives a ttl past the last moment anything in it matters (window, block, hits), so that the
 * next hits can be APPENDs; meanwhile it answers as the in-memory storage's record does until its sweep.
 * ARGV: ttl (ms), limit, blockDuration (ms; 0 or less takes the in-memory storage's no-block path).
 *
 * Reply: `{ totalHits, window ms left, blocked (1 or 0), block ms left (0 unless blocked) }`. The caller turns
 * the milliseconds into seconds with `Math.ceil(ms / 1000)`, as the in-memory storage does.
 */
export const THROTTLER_INCREMENT_LUA = `
-- Redis before 5 replicates the script, not its effects, and refuses writes after TIME unless told.
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local ttl, limit, blockDuration = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local unpack, pack = struct.unpack, struct.pack

-- Header: window end, block end (0: none), and the key's own expiry, which the writes below keep at or past
-- the last moment anything in the record matters. Then each hit's expiry, oldest first; the first few may have
-- expired already (they are skipped, and dropped whenever the record is rewritten).
local windowEnd, blockEnd, keyExpiry, total, last = 0, 0, 0, 0, 0
local record = redis.call('GET', key)
if record then
  if #record < 18 or (#record - 18) % 6 ~= 0 then
    return redis.error_reply('ERR ' .. key .. ' is not a throttler record')
  end
  windowEnd, blockEnd, keyExpiry = unpack('>I6I6I6', record)
  total = (#record - 18) / 6
  if total > 0 then last = unpack('>I6', record, #record - 5) end
end
local function expiryOf(i) return unpack('>I6', record, 13 + 6 * i) end

-- The in-memory storage's pruneExpiredHits: each hit counts for the ttl it came with. Expired hits are the
-- first ones; find how many (usually as many as before, or one more), galloping then bisecting.
local dead = 0
if total > 0 and expiryOf(1) <= now then
  local step = 1
  dead = 1
  while dead + step <= total and expiryOf(dead + step) <= now do
    dead = dead + step
    step = step * 2
  end
  local hi = math.min(dead + step, total + 1)
  while dead + 1 < hi do
    local mid = math.floor((dead + 1 + hi) / 2)
    if expiryOf(mid) <= now then dead = mid else hi = mid end
  end
end
local count = total - dead
local rewrite = false
-- Its window: restarted once over.
if windowEnd <= now then
  windowEnd, rewrite = now + ttl, true
end

local fire, blocked, blockLeft, refused = false, false, 0, 0
if blockDuration > 0 then
  -- Its increment(): no hit counts while blocked; the hit over the limit starts the block; the first hit after
  -- the block starts the count afresh (and does not block, whatever the limit).
  if blockEnd > now then
    blocked, blockLeft = true, blockEnd - now
  elseif blockEnd > 0 then
    blockEnd, dead, count, last, fire, rewrite = 0, total, 0, 0, true, true
  else
    fire = true
    if count + 1 > limit then
      blocked, blockEnd, blockLeft, rewrite = true, now + blockDuration, blockDuration, true
    end
  end
else
  -- Its incrementWithoutBlock(): a hit over the limit is refused and not counted (but reported), until the
  -- oldest counted one expires.
  if count >= limit then
    blocked, refused = true, 1
    blockLeft = (count > 0 and expiryOf(dead + 1) or windowEnd) - now
  else
    fire = true
  end
end

-- Its fireHitCount. A hit usually goes last with one APPEND; the record is rewritten (SET) when its header
-- changes, when the key must live longer, when expired hits pile up, or when a ttl shorter than an earlier
-- hit's puts this one before others.
local hits = nil
if fire then
  local expiry = now + ttl
  if expiry < last then
    local at = total
    while at > dead and expiryOf(at) > expiry do at = at - 1 end
    hits = string.sub(record, 19 + 6 * dead, 18 + 6 * at) .. pack('>I6', expiry) .. string.sub(record, 19 + 6 * at)
    rewrite = true
  elseif rewrite or expiry > keyExpiry or dead >= 8 and 4 * dead >= count then
    hits = string.sub(record or '', 19 + 6 * dead) .. pack('>I6', expiry)
    last, rewrite = expiry, true
  else
    redis.call('APPEND', key, pack('>I6', expiry))
  end
  count = count + 1
elseif rewrite then
  hits = string.sub(record or '', 19 + 6 * dead)
end

if rewrite then
  if count == 0 then last = 0 end
  -- A ttl of slack, so that the next hits of this window are APPENDs.
  keyExpiry = math.max(windowEnd, blockEnd, last) + ttl
  redis.call('SET', key, pack('>I6I6I6', windowEnd, blockEnd, keyExpiry) .. hits, 'PX', keyExpiry - now)
end
return { count + refused, windowEnd - now, blocked and 1 or 0, blockLeft }
`;
