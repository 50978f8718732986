/**
 * The server side of `pollShard`: one Lua script call reads a page of a shard's stream with `XRANGE`
 * and answers it packed. A plain `XRANGE` reply nests every entry as `[id, [d, json, t, stamp, m,
 * messageId]]`, nine RESP elements per event, and decoding them is most of a reader's client CPU
 * (ioredis spends about as long on the elements as `JSON.parse` spends on the event). Packed, an event
 * costs one element plus three words of a string, the field names stay on the server, and the entry
 * fetched only to learn whether more follow never leaves it.
 *
 * KEYS[1]  the shard's stream
 * ARGV[1]  the XRANGE start: `-`, or `(<id>` (exclusive)
 * ARGV[2]  the XRANGE COUNT: the limit plus one (computed by the client, so no Lua number is printed)
 * ARGV[3]  the limit
 *
 * Returns `{ more, meta, values… }`:
 * - `more`: 1 when entries follow the page, else 0;
 * - `meta`: per entry three words joined by single spaces: the entry id, then the `t` and `m` values
 *   for an entry laid out as the adapter writes it (`d`, `t`, `m`, in that order, `t` not empty, no
 *   space in `t` or `m`), and its `d` value is the next of `values`; for any other entry, an empty word
 *   and the number of its field/value strings, which follow in `values` as XRANGE gives them, for the
 *   client to judge field by field (another writer's entry, or damage, is skipped with a warning).
 *
 * Ids, well-formed `t` and `m` never hold a space, so the words split back exactly; an entry that might
 * break that goes the long way. `flags=no-writes` lets the read run when the server is out of memory
 * under `maxmemory`, which refuses scripts that may write: consumers must keep reading then.
 */
export const READ_SCRIPT = `#!lua flags=no-writes
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
local n, limit = #entries, tonumber(ARGV[3])
local more = 0
if n > limit then
  n = limit
  more = 1
end
local find = string.find
local words, values = {}, {more, ''}
local w, v = 0, 2
for i = 1, n do
  local entry = entries[i]
  local fields = entry[2]
  local count = #fields
  local stamp, message = fields[4], fields[6]
  words[w + 1] = entry[1]
  if count == 6 and fields[1] == 'd' and fields[3] == 't' and fields[5] == 'm' and stamp ~= ''
    and not find(stamp, ' ', 1, true) and not find(message, ' ', 1, true) then
    words[w + 2] = stamp
    words[w + 3] = message
    v = v + 1
    values[v] = fields[2]
  else
    words[w + 2] = ''
    words[w + 3] = tostring(count)
    for j = 1, count do values[v + j] = fields[j] end
    v = v + count
  end
  w = w + 3
end
values[2] = table.concat(words, ' ')
return values
`;
