"""The inbox's index of a brand's feedback: bitmaps per filter value, postings per word, newest first.

RediSearch is not in the Redis parole runs on, so the index is plain Redis, kept memory-lean:

- each feedback gets a position in its brand (`ix` in its hash, from a counter), in the order it was stored;
- each filter value (venue, channel, rating, kind, aspect, ticket state, has a suggestion) is a bitmap over
  those positions: a million feedbacks cost 125 kB a value, a filter is one `BITOP`, a count one `BITCOUNT`;
- each word of the reasons, suggestions and thread is a string of its positions (4 bytes each, appended) while
  it is rare, and becomes a bitmap once it is in more than one position in `WORD_BITMAP_RATIO`, so a search
  reads at most a few thousand postings and a frequent word is just one more bitmap to AND;
- the first position of each UTC day, for the period filter; the feedback id of each position, in hashes of
  `IDS_BUCKET` positions (small enough for Redis's compact encoding).

A page is one script call: it ANDs the filters, counts the matches and walks back from a cursor (a
position), so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.storage import keys
from bot.storage.scripts import Lua, run_commands

IDS_BUCKET = 128  # positions per hash of feedback ids: Redis keeps a hash of up to 128 fields as a listpack
# A word becomes a bitmap when more than 1 position in this many has it: a search then reads at most
# positions/200 postings (5,000 at a million feedbacks, 20 kB); memory alone would say 32 (4 bytes a posting
# against 1 bit a position).
WORD_BITMAP_RATIO = 200
MAX_WORDS = 64  # distinct words indexed per text
MAX_WORD_LENGTH = 40
MAX_PAGE = 100

#: Single-valued facets: setting one value clears the others (those listed here; a venue never changes).
STATUSES = ("none", "open", "answered", "closed", "spam", "no_answer")
RATINGS = ("1", "2", "3", "4", "5")
KINDS = ("complaint", "critique", "suggestion", "praise")

_STOPWORD_TEXT = (
    "a au aux avec ce ces cette dans de des du elle en et eu il ils je la le les leur lui ma mais me mes moi mon "
    "ne nos notre nous on ou par pas pour qu que qui sa se ses si son sur ta te tes toi ton tu un une vos votre "
    "vous y c d j l m n s t est sont ete etait tres plus the an and or of to in on at is are was were it this "
    "that for with be as i you we they my our"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"\w+")

# KEYS[1] the feedback hash, KEYS[2] the brand's index prefix. ARGV[1] the feedback id, ARGV[2] its UTC day
# (YYYYMMDD), ARGV[3] JSON {"facets": [[group, [values set], [values cleared]], …], "words": [word, …]}.
# Returns the feedback's position, -1 when the feedback is gone.
_INDEX = """
local fb, p = KEYS[1], KEYS[2]
if redis.call('EXISTS', fb) == 0 then return -1 end
local pos = redis.call('HGET', fb, 'ix')
local new = not pos
if new then
  pos = redis.call('INCR', p .. ':seq') - 1
  redis.call('HSET', fb, 'ix', pos)
  redis.call('HSET', p .. ':ids:' .. math.floor(pos / %(bucket)d), pos %% %(bucket)d, ARGV[1])
  redis.call('SETBIT', p .. ':all', pos, 1)
  if ARGV[2] ~= '' then redis.call('ZADD', p .. ':days', 'NX', pos, ARGV[2]) end
end
pos = tonumber(pos)
local data = cjson.decode(ARGV[3])
for _, facet in ipairs(data.facets) do
  local base = p .. ':f:' .. facet[1] .. ':'
  if not new then  -- a position just given has no value to clear
    for _, value in ipairs(facet[3]) do
      if redis.call('GETBIT', base .. value, pos) == 1 then redis.call('SETBIT', base .. value, pos, 0) end
    end
  end
  for _, value in ipairs(facet[2]) do redis.call('SETBIT', base .. value, pos, 1) end
end
local last = tonumber(redis.call('GET', p .. ':seq'))
local packed = string.char(math.floor(pos / 16777216) %% 256, math.floor(pos / 65536) %% 256,
                           math.floor(pos / 256) %% 256, pos %% 256)
for _, word in ipairs(data.words) do
  local bitmap = p .. ':w:' .. word
  if redis.call('EXISTS', bitmap) == 1 then
    redis.call('SETBIT', bitmap, pos, 1)
  else
    local k = p .. ':p:' .. word
    local card = redis.call('APPEND', k, packed) / 4
    if card > 128 and card * %(ratio)d > last then
      local s = redis.call('GET', k)
      for i = 1, #s - 3, 4 do
        local a, b, c, d = string.byte(s, i, i + 3)
        redis.call('SETBIT', bitmap, ((a * 256 + b) * 256 + c) * 256 + d, 1)
      end
      redis.call('DEL', k)
    end
  end
end
return pos
""" % {"bucket": IDS_BUCKET, "ratio": WORD_BITMAP_RATIO}  # noqa: UP031  # Lua's own % must stay
_INDEX_SCRIPT = Lua(_INDEX)

# KEYS[1] the feedback hash, KEYS[2] the brand's index prefix. ARGV[1] JSON [facet key ("group:value"), …] to
# clear at its position. Returns 1 when the feedback was indexed, else 0. (Run before the hash is deleted.)
_UNINDEX = """
local fb, p = KEYS[1], KEYS[2]
local pos = redis.call('HGET', fb, 'ix')
if not pos then return 0 end
pos = tonumber(pos)
redis.call('SETBIT', p .. ':all', pos, 0)
redis.call('HDEL', p .. ':ids:' .. math.floor(pos / %(bucket)d), pos %% %(bucket)d)
for _, key in ipairs(cjson.decode(ARGV[1])) do
  if redis.call('GETBIT', p .. ':f:' .. key, pos) == 1 then redis.call('SETBIT', p .. ':f:' .. key, pos, 0) end
end
return 1
""" % {"bucket": IDS_BUCKET}  # noqa: UP031  # Lua's own % must stay

# KEYS[1] the brand's index prefix. ARGV[1] a random token (temporary keys), ARGV[2] JSON {"groups": [[facet
# key, …] (OR), …] (AND), "words": [word, …] (AND), "since": day or "", "upto": day or "", "before":
# position or -1, "after": position or -1, "limit": n}. Returns {count, {feedback ids…}, next cursor or -1}.
_QUERY = """
local p = KEYS[1]
local q = cjson.decode(ARGV[2])
local temps = {}
local function temp() local k = p .. ':tmp:' .. ARGV[1] .. ':' .. (#temps + 1); temps[#temps + 1] = k; return k end
local function finish(result) if #temps > 0 then redis.call('DEL', unpack(temps)) end return result end
local last = tonumber(redis.call('GET', p .. ':seq') or '0') - 1
local lo, hi = 0, last
if q.since ~= '' or q.upto ~= '' then
  local days = redis.call('ZRANGE', p .. ':days', 0, -1, 'WITHSCORES')
  local first_since, first_until = nil, nil
  for i = 1, #days, 2 do
    local day, at = days[i], tonumber(days[i + 1])
    if q.since ~= '' and day >= q.since and (first_since == nil or at < first_since) then first_since = at end
    if q.upto ~= '' and day >= q.upto and (first_until == nil or at < first_until) then first_until = at end
  end
  if q.since ~= '' then lo = first_since or (last + 1) end
  if q.upto ~= '' and first_until then hi = first_until - 1 end
end
if q.after >= 0 and q.after + 1 > lo then lo = q.after + 1 end
local top = hi
if q.before >= 0 and q.before - 1 < top then top = q.before - 1 end
local bits, packs = {}, {}
for _, group in ipairs(q.groups) do
  if #group == 1 then bits[#bits + 1] = group[1]
  else local k = temp(); redis.call('BITOP', 'OR', k, unpack(group)); bits[#bits + 1] = k end
end
for _, word in ipairs(q.words) do
  if redis.call('EXISTS', p .. ':w:' .. word) == 1 then bits[#bits + 1] = p .. ':w:' .. word
  elseif redis.call('EXISTS', p .. ':p:' .. word) == 1 then packs[#packs + 1] = p .. ':p:' .. word
  else return finish({0, {}, -1}) end
end
local base = p .. ':all'
if #bits == 1 then base = bits[1]
elseif #bits > 1 then base = temp(); redis.call('BITOP', 'AND', base, unpack(bits)) end
local found, count = {}, 0
if lo > hi then return finish({0, {}, -1}) end
if #packs == 0 then
  count = redis.call('BITCOUNT', base, lo, hi, 'BIT')
  local zero = string.rep('\\0', 64)
  local byte_at = math.floor(top / 8)
  local floor_byte = math.floor(lo / 8)
  while byte_at >= floor_byte and #found <= q.limit do
    local from = math.max(floor_byte, byte_at - 4095)
    local chunk = redis.call('GETRANGE', base, from, byte_at)
    local i = #chunk
    while i >= 1 and #found <= q.limit do
      local s = math.max(1, i - 63)
      if i - s == 63 and string.sub(chunk, s, i) == zero then
        i = s - 1
      else
        local v = string.byte(chunk, i)
        if v ~= 0 then
          local byte_pos = (from + i - 1) * 8
          for b = 7, 0, -1 do
            local at = byte_pos + b
            if at <= top and at >= lo and bit.band(v, bit.lshift(1, 7 - b)) ~= 0 then
              found[#found + 1] = at
              if #found > q.limit then break end
            end
          end
        end
        i = i - 1
      end
    end
    byte_at = from - 1
  end
else
  -- The rarest word's postings (a few thousand at most), newest first, kept if every other word and the
  -- filters have them.
  local function postings(k)
    local s, found = redis.call('GET', k), {}
    for i = 1, #s - 3, 4 do
      local a, b, c, d = string.byte(s, i, i + 3)
      local at = ((a * 256 + b) * 256 + c) * 256 + d
      if at >= lo and at <= hi then found[at] = true end
    end
    return found
  end
  table.sort(packs, function(a, b) return redis.call('STRLEN', a) < redis.call('STRLEN', b) end)
  local candidates = {}
  for at in pairs(postings(packs[1])) do candidates[#candidates + 1] = at end
  table.sort(candidates, function(a, b) return a > b end)
  local others = {}
  for j = 2, #packs do others[#others + 1] = postings(packs[j]) end
  local filtered = #bits > 0
  for _, at in ipairs(candidates) do
    local ok = (not filtered) or redis.call('GETBIT', base, at) == 1
    for _, other in ipairs(others) do
      if ok and not other[at] then ok = false end
    end
    if ok then
      count = count + 1
      if at <= top and #found <= q.limit then found[#found + 1] = at end
    end
  end
end
local more = -1
if #found > q.limit then more = found[q.limit]; found[#found] = nil end
local ids = {}
for i, at in ipairs(found) do
  ids[i] = redis.call('HGET', p .. ':ids:' .. math.floor(at / %(bucket)d), at %% %(bucket)d) or ''
end
return finish({count, ids, more})
""" % {"bucket": IDS_BUCKET}  # noqa: UP031


def words(text: str) -> list[str]:
    """The words of a text as the index keeps them: case and accents folded, no stop words, each once."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    seen: dict[str, None] = {}
    for word in _WORD.findall(folded):
        if len(word) < 2 or len(word) > MAX_WORD_LENGTH or word in _STOPWORDS or word.strip("_") != word:
            continue
        seen[word] = None
        if len(seen) >= MAX_WORDS:
            break
    return list(seen)


def utc_day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class Facet:
    """One facet of a feedback to index: the values it has now and those it no longer has."""

    group: str
    values: tuple[str, ...]
    cleared: tuple[str, ...] = ()

    def to_json(self) -> list[Any]:
        return [self.group, list(self.values), [v for v in self.cleared if v not in self.values]]


def status_facet(status: str) -> Facet:
    return Facet("status", (status,), STATUSES)


def stored_facets(venue: str, channel: str, rating: int, suggestion: str | None) -> list[Facet]:
    """What a feedback has from the moment it is stored (a suggestion, once given)."""
    facets = [
        Facet("venue", (venue,)),
        Facet("channel", (channel,)),
        Facet("rating", (str(rating),), RATINGS),
    ]
    if suggestion:
        facets.append(Facet("suggestion", ("1",)))
    return facets


def analysis_facets(kind: str, aspects: Iterable[str], known_aspects: Iterable[str] = ()) -> list[Facet]:
    return [Facet("kind", (kind,), KINDS), Facet("aspect", tuple(aspects), tuple(known_aspects))]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_REINDEX_FIELDS = (
    "ix",
    "venue",
    "channel",
    "rating",
    "reason",
    "suggestion",
    "created_at",
    "kind",
    "aspects",
    "ticket",
)


def _missing_command(
    brand: str, feedback_id: str, row: Mapping[str, str], status: str, thread: Sequence[Any]
) -> tuple[str | int | float, ...]:
    """The index call of a stored feedback that is not indexed yet, from its hash, ticket state and thread."""
    facets = stored_facets(row["venue"], row["channel"] or "telegram", int(row["rating"] or 0), row["suggestion"])
    facets.append(status_facet(status))
    if row["kind"]:
        facets += analysis_facets(row["kind"], json.loads(row["aspects"] or "[]"))
    texts = [row["reason"], row["suggestion"], *(str(json.loads(_text(m)).get("text", "")) for m in thread)]
    return index_command(brand, feedback_id, float(row["created_at"] or 0) or None, facets, words(" ".join(texts)))


def index_command(
    brand: str, feedback_id: str, created_at: float | None, facets: Sequence[Facet], text_words: Sequence[str] = ()
) -> tuple[str | int | float, ...]:
    """The script call that indexes a feedback (to run after its hash is written, in the same round trip or
    later; `bot.storage.scripts` runs it, with the script's text where the server lacks it).

    `created_at` places a feedback indexed for the first time in its day (None: unknown here, no day)."""
    payload = json.dumps({"facets": [f.to_json() for f in facets], "words": list(text_words)}, ensure_ascii=False)
    day = utc_day(created_at) if created_at is not None else ""
    return _INDEX_SCRIPT.call([keys.feedback(brand, feedback_id), keys.index(brand)], [feedback_id, day, payload])


def unindex_command(brand: str, feedback_id: str, facets: Sequence[Facet]) -> tuple[str | int, ...]:
    """The EVAL that takes a feedback out of the inbox index (before its hash is deleted): its position, and the
    facet values `facets` may have set there (values and cleared ones alike)."""
    cleared = sorted({f"{facet.group}:{value}" for facet in facets for value in (*facet.values, *facet.cleared)})
    payload = json.dumps(cleared, ensure_ascii=False)
    return ("EVAL", _UNINDEX, 2, keys.feedback(brand, feedback_id), keys.index(brand), payload)


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the inbox asks: filter values (several values of one filter: any of them), words, UTC days."""

    brand: str
    filters: Mapping[str, Sequence[str]]  # group → values, e.g. {"rating": ["1", "2"], "venue": ["massy"]}
    text: str = ""
    since: str = ""  # YYYYMMDD, included
    until: str = ""  # YYYYMMDD, excluded
    before: int = -1  # a cursor: positions below this one
    after: int = -1  # positions above this one only (what is new since a page was shown)
    limit: int = 20


@dataclass(frozen=True, slots=True)
class InboxPage:
    count: int
    feedback_ids: list[str]
    next_cursor: int | None


class FeedbackIndex:
    """Writes and reads the inbox index of every brand (`keys.index`)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._query = redis.register_script(_QUERY)  # by its SHA1, loaded again where the server lacks it

    async def index(
        self,
        brand: str,
        feedback_id: str,
        created_at: float | None,
        facets: Sequence[Facet],
        text_words: Sequence[str] = (),
    ) -> int:
        command = index_command(brand, feedback_id, created_at, facets, text_words)
        [position] = await run_commands(self.redis, None, [command])
        return int(position)

    async def query(self, query: InboxQuery) -> InboxPage:
        prefix = keys.index(query.brand)
        groups = [
            [f"{prefix}:f:{group}:{value}" for value in values] for group, values in query.filters.items() if values
        ]
        payload = {
            "groups": groups,
            "words": words(query.text),
            "since": query.since,
            "upto": query.until,
            "before": query.before,
            "after": query.after,
            "limit": max(1, min(query.limit, MAX_PAGE)),
        }
        reply: Any = await self._query(
            keys=[prefix], args=[secrets.token_hex(6), json.dumps(payload, ensure_ascii=False)]
        )
        count, ids, more = reply
        found = [str(i) for i in ids if i]
        return InboxPage(int(count), found, int(more) if int(more) >= 0 else None)

    async def index_missing(
        self, brand: str, *, batch: int = 500, on_batch: Callable[[int, int], None] | None = None
    ) -> tuple[int, int]:
        """Index the brand's feedback stored before the index existed (or whose indexing was lost), oldest
        first, `batch` at a time: its venue, channel, rating, suggestion, ticket state, analysis and the words of
        its texts and thread. Feedback already indexed is left as it is, so a run cut short goes on where it
        stopped when run again. `on_batch(done, indexed)` after each batch; returns (seen, indexed)."""
        seen = indexed = 0
        start = 0
        while True:
            ids = [_text(i) for i in await self.redis.zrange(keys.feedbacks(brand), start, start + batch - 1)]
            if not ids:
                return seen, indexed
            start += len(ids)
            async with self.redis.pipeline(transaction=False) as pipe:
                for feedback_id in ids:
                    pipe.hmget(keys.feedback(brand, feedback_id), _REINDEX_FIELDS)
                rows = [dict(zip(_REINDEX_FIELDS, (_text(v) if v is not None else "" for v in row), strict=True))
                        for row in await pipe.execute()]  # fmt: skip
            missing = [(i, row) for i, row in zip(ids, rows, strict=True) if row["venue"] and not row["ix"]]
            async with self.redis.pipeline(transaction=False) as pipe:
                for _, row in missing:
                    if row["ticket"]:
                        pipe.hget(keys.ticket(brand, int(row["ticket"])), "status")
                    else:
                        pipe.echo("")
                for feedback_id, _ in missing:
                    pipe.lrange(keys.replies(brand, feedback_id), 0, -1)
                replies = await pipe.execute()
            statuses, threads = replies[: len(missing)], replies[len(missing) :]
            commands = [
                _missing_command(brand, feedback_id, row, _text(status or "") or "none", thread)
                for (feedback_id, row), status, thread in zip(missing, statuses, threads, strict=True)
            ]
            if commands:
                await run_commands(self.redis, None, commands)
            seen += len(ids)
            indexed += len(commands)
            if on_batch is not None:
                on_batch(seen, indexed)

    async def newest(self, brand: str) -> int:
        """The position of the brand's newest indexed feedback (-1 when none)."""
        return int(await self.redis.get(f"{keys.index(brand)}:seq") or 0) - 1

    async def memory(self, brand: str) -> int:
        """Bytes the brand's index takes in Redis (MEMORY USAGE of each of its keys; a SCAN: for benchmarks)."""
        total = 0
        async for key in self.redis.scan_iter(match=f"{keys.index(brand)}:*", count=1000):
            total += int(await self.redis.memory_usage(key, samples=0) or 0)
        return total
