/**
 * The one script behind `RedisThrottlerStorage.increment()`: the algorithm of `@nestjs/throttler` 6's in-memory
 * `ThrottlerStorageService`, step for step, on the server's clock, so that every app instance shares one limit
 * and one clock.
 *
 * KEYS[1] is the record, one string: two 6-byte big-endian integers, the end of the current window and the end
 * of the block (0 while not blocked), then one 6-byte expiry per live hit, oldest first (all in ms since the
 * epoch). A string read and written whole costs the server far less than a sorted set or a list for the few
 * dozen hits a record holds, and it is one key, so a cluster never splits a record. The key expires once nothing
 * in it matters any more (window over, block over, every hit expired), which is the state the in-memory
 * storage's sweep would evict.
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

-- The live hits are the entries from byte 'first' of 'record' on: hit i (1-based) at first + 6 * (i - 1).
local windowEnd, blockEnd, first, count, last = 0, 0, 13, 0, 0
local record = redis.call('GET', key)
if record then
  if #record < 12 or (#record - 12) % 6 ~= 0 then
    return redis.error_reply('ERR ' .. key .. ' is not a throttler record')
  end
  windowEnd, blockEnd = unpack('>I6I6', record)
  count = (#record - 12) / 6
  if count > 0 then last = unpack('>I6', record, #record - 5) end
else
  record = ''
end
local changed = false

-- The in-memory storage's pruneExpiredHits: each hit counts for the ttl it came with. The oldest expire first;
-- usually one or two per call, after an idle spell many: gallop, then bisect.
if count > 0 and unpack('>I6', record, first) <= now then
  local dead, step = 1, 1
  while dead + step <= count and unpack('>I6', record, first + 6 * (dead + step - 1)) <= now do
    dead = dead + step
    step = step * 2
  end
  local hi = math.min(dead + step, count + 1)
  while dead + 1 < hi do
    local mid = math.floor((dead + 1 + hi) / 2)
    if unpack('>I6', record, first + 6 * (mid - 1)) <= now then dead = mid else hi = mid end
  end
  first = first + 6 * dead
  count = count - dead
  changed = true
end
-- Its window: restarted once over.
if windowEnd <= now then
  windowEnd = now + ttl
  changed = true
end

local fire, blocked, blockLeft, refused = false, false, 0, 0
if blockDuration > 0 then
  -- Its increment(): no hit counts while blocked; the hit over the limit starts the block; the first hit after
  -- the block starts the count afresh (and does not block, whatever the limit).
  if blockEnd > now then
    blocked, blockLeft = true, blockEnd - now
  elseif blockEnd > 0 then
    blockEnd, first, count, last, fire = 0, #record + 1, 0, 0, true
  else
    fire = true
    if count + 1 > limit then
      blocked, blockEnd, blockLeft = true, now + blockDuration, blockDuration
    end
  end
else
  -- Its incrementWithoutBlock(): a hit over the limit is refused and not counted (but reported), until the
  -- oldest counted one expires.
  if count >= limit then
    blocked, refused = true, 1
    blockLeft = (count > 0 and unpack('>I6', record, first) or windowEnd) - now
  else
    fire = true
  end
end

-- Its fireHitCount: the hit goes last, unless a ttl shorter than an earlier hit's puts it before others.
local added = ''
if fire then
  local expiry = now + ttl
  if expiry >= last then
    added, last = pack('>I6', expiry), expiry
  else
    local at = first + 6 * count
    while at > first and unpack('>I6', record, at - 6) > expiry do at = at - 6 end
    record = string.sub(record, first, at - 1) .. pack('>I6', expiry) .. string.sub(record, at)
    first = 1
  end
  count = count + 1
  changed = true
end

if changed then
  if count == 0 then last = 0 end
  local lifetime = math.max(windowEnd, blockEnd, last) - now
  redis.call('SET', key, pack('>I6I6', windowEnd, blockEnd) .. string.sub(record, first) .. added, 'PX', lifetime)
end
return { count + refused, windowEnd - now, blocked and 1 or 0, blockLeft }
`;
