/** The end of the script's error reply when it failed after storing part of its chunk. */
export const PARTLY_STORED = " (netmesh: part of the chunk is stored)";

/** Whether `error` is a reply of the script that failed after storing part of its chunk. */
export function partlyStored(error: unknown): boolean {
  return error instanceof Error && error.message.endsWith(PARTLY_STORED);
}

/**
 * The server side of `onBatch`: one Lua script call appends a chunk of a batch to its shard's stream,
 * with exact dedup by a per-producer high-water mark. Running the per-event loop inside Redis is what
 * makes the adapter fast (ioredis spends ~8 µs of client CPU per command; here there is one command per
 * chunk, not one per event) and what makes retries exact (the mark and the entries change atomically).
 *
 * KEYS[1]  the shard's stream
 * KEYS[2]  the producer's mark on that shard: the next sequence number not yet stored. A string key of
 *          its own, so it can expire on its own; same hash tag as the stream, so one cluster slot.
 * ARGV[1]  first sequence number of the chunk (decimal)
 * ARGV[2]  number of events in the chunk
 * ARGV[3]  the sequence the mark must have reached (where the previous chunk of the batch ends), "0"
 *          for a batch's first chunk
 * ARGV[4]  mark expiry in ms, "0" for none
 * ARGV[5]  trim strategy: "" (none), "MAXLEN" or "MINID" (approximate, `~`)
 * ARGV[6]  trim threshold
 * ARGV[7…] per event, three strings: timestamp, message id, JSON
 *
 * Returns the number of entries added: 0 for a chunk already stored (a retry after a lost reply).
 *
 * Why it is shaped like this:
 * - The bus sends each (producer, shard) gap-free and in order, so "sequence < mark" is exactly "already
 *   stored": O(1) state per producer and shard instead of a window of ids.
 * - A chunk may start after a gap (a batch the bus dropped, an event the adapter refused), so the first
 *   chunk of a batch is accepted above the mark, and a later chunk too once the mark has reached the
 *   end of its predecessor. Below that, the predecessor was sent just before it and may have failed;
 *   skipping ahead would lose it, so the script refuses (NETMESH_GAP) and the batch is retried.
 * - The `#!lua` shebang (Redis ≥ 7.0) has Redis refuse the call whole when it is out of memory or a
 *   read-only replica, before anything is written. A failure inside the loop (which a healthy server
 *   does not produce) still sets the mark to exactly what was stored, so a retry resumes right after,
 *   and, when some of the chunk was stored, ends its error reply with {@link PARTLY_STORED}.
 * - Numbers are formatted with %d: Lua's default number-to-string would print 1e+15 for large ones.
 */
export const APPEND_SCRIPT = `#!lua
local stream, markKey = KEYS[1], KEYS[2]
local first = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local stored = redis.call('GET', markKey)
local mark = stored and tonumber(stored) or 0
if mark >= first + count then return 0 end
if mark < tonumber(ARGV[3]) then
  return redis.error_reply('NETMESH_GAP the previous chunk of this batch is not stored')
end
local skip = mark - first
if skip < 0 then skip = 0 end
local call, argv = redis.call, ARGV
local added = 0
local ok, err = pcall(function()
  for i = 7 + 3 * skip, 6 + 3 * count, 3 do
    call('XADD', stream, '*', 'd', argv[i + 2], 't', argv[i], 'm', argv[i + 1])
    added = added + 1
  end
end)
local reached = string.format('%d', first + skip + added)
if ARGV[4] ~= '0' then
  call('SET', markKey, reached, 'PX', ARGV[4])
else
  call('SET', markKey, reached)
end
if not ok then
  local message
  if type(err) == 'table' and err.err then message = err.err
  else message = 'ERR netmesh append failed: ' .. tostring(err) end
  if added > 0 then message = message .. '${PARTLY_STORED}' end
  return redis.error_reply(message)
end
if ARGV[5] ~= '' then
  call('XTRIM', stream, ARGV[5], '~', ARGV[6])
end
return added
`;
