/**
 * The Lua scripts that change timelines. Redis runs each atomically, which is what makes the feed's
 * race rules hold (ARCHITECTURE.md, "Why nothing is lost"):
 *
 * - A rebuild holds `lock:tl:{user}` (value: its token) from before it reads the databases until it
 *   writes. A removal or a follow made meanwhile appends "*" to the lock's value ("dirty"): the
 *   rebuild's snapshot may predate that change, so its commit fails and it reads again. A fan-out add
 *   made meanwhile (the common case) is recorded in `pend:tl:{user}` (post -> author) instead, and the
 *   commit merges it when the new friend set holds the author. Commit and lock release are one step,
 *   so no change falls between them.
 * - Fan-out adds a post only when the cached friend set holds its author, so a post fanned out after
 *   an unfollow's rebuild cannot come back.
 *
 * - Members are inverted post ids, newest first (post-ids.ts); the last member is the history
 *   marker (score 1): a trim that drops posts turns an END marker into CUT, so a timeline never
 *   claims to hold a history it has lost.
 *
 * Keys come in groups per user, all with the user's hash tag (one Redis Cluster slot per group).
 */

/**
 * Lua helpers the timeline scripts share: trimming to the window (the oldest posts are the last
 * members, just before the marker), and the marker it implies.
 */
const TRIM = `
local HISTORY_END, HISTORY_CUT, MARKER_SCORE = string.char(1), string.char(0), 1
local function trimExcess(timeline, excess)
  if excess <= 0 then return end
  redis.call('ZREMRANGEBYRANK', timeline, -(excess + 1), -2)
  if redis.call('ZREM', timeline, HISTORY_END) == 1 then redis.call('ZADD', timeline, MARKER_SCORE, HISTORY_CUT) end
end
local function trimToWindow(timeline, maxItems)
  trimExcess(timeline, redis.call('ZCARD', timeline) - 1 - maxItems)
end
`;

/**
 * Fan-out. KEYS: each user's timeline. ARGV: maxItems, authorId, pushedKept, pushedTtlMs, then the
 * text before and after the user id in the timeline, friends, lock, pending, connected and pushed
 * keys (redis-keys.ts through keyAround), then the members.
 * A user's other keys are named here from the timeline key: they share its hash tag, so its slot,
 * and a celebrity's million fans cost one key each on the wire instead of six (half the feed's CPU
 * per fan in a chunk). Redis runs a script while every other client waits, so calls are few: one
 * MGET of every fan's rebuild lock and live mark (both strings; 250 EXISTS calls cost more Redis
 * time than any other step), then three a fan: ZCARD (cached? and the trim's size), SISMEMBER, ZADD.
 * Returns two lists, per user: the outcome (-1 not cached, -2 author not followed per the cached
 * friend set, else members added) and 1 when the user is connected to a live feed and has not been
 * pushed these posts yet (they are then recorded as pushed), else 0. The record, not the timeline,
 * keeps pushes to one per post: a rebuild may have put the post in the timeline before its fan-out.
 * The history marker (the last member) survives trimming. Both sorted sets hold inverted ids, newest
 * first: a new post goes in at the head, and the pushed record keeps its first pushedKept.
 */
export const ADD_SCRIPT = `${TRIM}
local maxItems, author, pushedKept, pushedTtl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4]
local tlHead, tlTail = ARGV[5], ARGV[6]
local frHead, frTail, lockHead, lockTail, pendHead, pendTail = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]
local liveHead, liveTail, pushedHead, pushedTail = ARGV[13], ARGV[14], ARGV[15], ARGV[16]
local FIRST_MEMBER = 17
-- The score as a string: Redis formats a Lua number with printf on every call (2% of a fan's Redis time in a profile).
local POST_SCORE = '0'
local idFrom, idTo = #tlHead + 1, -(#tlTail + 1)
local users, flagKeys = {}, {}
for k = 1, #KEYS do
  local user = string.sub(KEYS[k], idFrom, idTo)
  users[k] = user
  flagKeys[2 * k - 1] = lockHead .. user .. lockTail
  flagKeys[2 * k] = liveHead .. user .. liveTail
end
local flags = redis.call('MGET', unpack(flagKeys))
local results, push = {}, {}
for k = 1, #KEYS do
  local timeline, user = KEYS[k], users[k]
  if flags[2 * k - 1] then
    local pending = pendHead .. user .. pendTail
    for i = FIRST_MEMBER, #ARGV do redis.call('HSET', pending, ARGV[i], author) end
    redis.call('PEXPIRE', pending, redis.call('PTTL', flagKeys[2 * k - 1]))
  end
  local result
  local size = redis.call('ZCARD', timeline)
  if size == 0 then
    result = -1
  elseif redis.call('SISMEMBER', frHead .. user .. frTail, author) == 0 then
    result = -2
  else
    result = 0
    for i = FIRST_MEMBER, #ARGV do result = result + redis.call('ZADD', timeline, 'NX', POST_SCORE, ARGV[i]) end
    trimExcess(timeline, size + result - 1 - maxItems)
  end
  results[k] = result
  local fresh = 0
  if flags[2 * k] then
    local pushed = pushedHead .. user .. pushedTail
    for i = FIRST_MEMBER, #ARGV do fresh = fresh + redis.call('ZADD', pushed, 'NX', POST_SCORE, ARGV[i]) end
    redis.call('ZREMRANGEBYRANK', pushed, pushedKept, -1)
    redis.call('PEXPIRE', pushed, pushedTtl)
  end
  push[k] = fresh > 0 and 1 or 0
end
return {results, push}`;

/**
 * Warm reads' Redis part, for a batch of pages in one command. KEYS: per page, the user's timeline
 * and friends. ARGV: ttlSeconds, then per page: first rank, last rank, the number of candidates
 * (celebrities) to ask the friend set about, and those candidates.
 * Returns per page: the timeline's size (0: not cached), its members from first to last rank
 * (newest first), and per candidate 1 if the user follows them. Renews both keys' lifetime: reading
 * is activity. One script instead of five commands a page, and one for all the pages read together
 * (those of a GetFeeds call): per-command client cost was the feed's largest on reads.
 * A timeline holding posts (more than its marker) without its friend set (evicted alone under
 * maxmemory) is dropped and reported not cached: reads trust that a timeline's posts are by the
 * friends its set names, and fan-out could no longer add to it.
 */
export const READ_PAGES_SCRIPT = `
local ttl = ARGV[1]
local at = 2
local pages = {}
for k = 1, #KEYS, 2 do
  local timeline, friends = KEYS[k], KEYS[k + 1]
  local first, last, candidates = ARGV[at], ARGV[at + 1], tonumber(ARGV[at + 2])
  local from = at + 3
  at = from + candidates
  local size = redis.call('ZCARD', timeline)
  if size > 1 and redis.call('EXISTS', friends) == 0 then
    redis.call('DEL', timeline)
    size = 0
  end
  if size == 0 then
    pages[#pages + 1] = {0, {}, {}}
  else
    local members = redis.call('ZRANGE', timeline, first, last)
    redis.call('EXPIRE', timeline, ttl)
    redis.call('EXPIRE', friends, ttl)
    local following = {}
    if candidates > 0 then following = redis.call('SMISMEMBER', friends, unpack(ARGV, from, at - 1)) end
    pages[#pages + 1] = {size, members, following}
  end
end
return pages`;

/**
 * Removal (deleted posts, stale entries). KEYS: per user (timeline, lock). ARGV: maxItems, members...
 * Per user: 1 when a full timeline became short and must be refilled from the databases (older
 * posts exist that it no longer reaches), else 0.
 */
export const REMOVE_SCRIPT = `
local maxItems = tonumber(ARGV[1])
local results = {}
for k = 1, #KEYS, 2 do
  local timeline, lock = KEYS[k], KEYS[k + 1]
  if redis.call('EXISTS', lock) == 1 then redis.call('APPEND', lock, '*') end
  local before = redis.call('ZCARD', timeline)
  local refill = 0
  if before > 0 then
    local removed = redis.call('ZREM', timeline, unpack(ARGV, 2))
    if removed > 0 and before - 1 >= maxItems and before - 1 - removed < maxItems then refill = 1 end
  end
  results[#results + 1] = refill
end
return results`;

/**
 * Starts a rebuild. KEYS: timeline, lock, pending. ARGV: token, ttlMs, mode.
 * mode "missing" (a reader): "busy" when another rebuild runs, "present" when cached, else "claimed".
 * mode "cached" (an event or the reconciler): "marked" when another rebuild runs (it will read again),
 * "absent" when not cached (nothing to keep right), else "claimed".
 */
export const CLAIM_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  if ARGV[3] == 'cached' then
    redis.call('APPEND', KEYS[2], '*')
    return 'marked'
  end
  return 'busy'
end
local cached = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[3] == 'missing' and cached then return 'present' end
if ARGV[3] == 'cached' and not cached then return 'absent' end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[3])
return 'claimed'`;

/**
 * Before another read of the databases: clears the dirty mark and the recorded adds. KEYS: lock,
 * pending. ARGV: token, ttlMs. 1, or 0 if the lock was lost. The adds go because the new snapshot
 * sees every post they name (each committed before its add was recorded), and a recorded add of a
 * post deleted meanwhile would otherwise be merged back in by the commit.
 */
export const RESTART_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value or string.sub(value, 1, #ARGV[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1`;

/**
 * Writes a rebuilt timeline and friend set, merges the adds recorded meanwhile and releases the
 * lock, unless a removal or follow came since the snapshot. KEYS: timeline, friends, lock, pending.
 * ARGV: token, ttlSeconds, maxItems, history marker, the members (16 bytes each, back to back, one
 * argument), friend ids. Returns "ok", "dirty" or "lost".
 * The timeline is written as a set first and turned into a sorted set by ZUNIONSTORE (weight 0: every
 * score 0), which builds a skiplist and converts it to a listpack in one ordered pass. Adding a
 * thousand members to a listpack one by one costs a scan and a move of it per member: 11-33 ms of
 * Redis time per rebuild, during which every other client waits, against about 2 ms this way. The
 * key is a set only inside this script, so no other client ever sees it as one.
 */
export const COMMIT_SCRIPT = `${TRIM}
local value = redis.call('GET', KEYS[3])
if value ~= ARGV[1] then
  if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then return 'dirty' end
  return 'lost'
end
local maxItems, packed, firstFriend = tonumber(ARGV[3]), ARGV[5], 6
local members = {}
for i = 1, #packed, 16 do members[#members + 1] = string.sub(packed, i, i + 15) end
redis.call('DEL', KEYS[1], KEYS[2])
for i = 1, #members, 500 do
  redis.call('SADD', KEYS[1], unpack(members, i, math.min(i + 499, #members)))
end
if #members > 0 then redis.call('ZUNIONSTORE', KEYS[1], 1, KEYS[1], 'WEIGHTS', 0) end
redis.call('ZADD', KEYS[1], MARKER_SCORE, ARGV[4])
for i = firstFriend, #ARGV, 500 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
local pending = redis.call('HGETALL', KEYS[4])
for i = 1, #pending, 2 do
  if redis.call('SISMEMBER', KEYS[2], pending[i + 1]) == 1 then redis.call('ZADD', KEYS[1], 'NX', 0, pending[i]) end
end
trimToWindow(KEYS[1], maxItems)
redis.call('EXPIRE', KEYS[1], ARGV[2])
if #ARGV >= firstFriend then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
redis.call('DEL', KEYS[3], KEYS[4])
return 'ok'`;

/**
 * Gives a rebuild up: drops the timeline and friend set (an absent cache is never wrong), and the
 * lock if it is still ours. KEYS: timeline, friends, lock, pending. ARGV: token.
 */
export const DROP_SCRIPT = `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
local value = redis.call('GET', KEYS[3])
if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1`;

/** Caches a post body unless the post is already known to be deleted. 1 cached, 0 tombstoned. */
export const CACHE_POST_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current and string.len(current) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`;
