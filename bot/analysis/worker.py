"""The analysis worker: reads the feedback stream through a consumer group, analyses in batches off the
event loop, stores each result once, then acknowledges.

Several workers share the stream. An entry left pending by a dead worker is claimed by another after
`claim_idle` seconds. Storing a brand's results is one Lua script on that brand's keys (one hash slot,
cluster-safe): it writes each analysis and its staff-room event only if that stream entry was not stored
already, so a worker that dies between storing and acknowledging causes no second event.

A batch costs four round trips whatever its size and number of brands: claim and read the stream; read
every brand's texts and vocabulary version (one script per brand, pipelined); store every brand's
analyses (likewise); acknowledge. The event loop's share of the CPU is what the model loses to it (they
share the GIL), so it stays a few commands per batch, not per feedback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, ResponseError

from bot.storage import keys
from bot.storage.cluster import REDIS_UNAVAILABLE, is_cluster
from bot.storage.index import analysis_facets, index_command
from bot.storage.lane import RedisLane
from bot.storage.scripts import run_commands
from bot.storage.store import consumer_name
from bot.storage.vocabulary import VocabularyStore
from nlp.aspects import ASPECTS
from nlp.types import Analysis, FeedbackText, Vocabulary

log = logging.getLogger(__name__)

# Feedbacks read and analysed together. spaCy's `ner` gets faster up to a few hundred texts a batch (on
# this machine 64 → 128 is +13%, 256 +26%), and the worker's per-batch costs (round trips, event-loop
# turns) are paid half as often as at 64; at a few feedbacks a second batches are smaller anyway, since a
# read returns what is there.
BATCH_SIZE = 128

_READ_TEXTS = """
-- KEYS[1] the brand's vocabulary version, KEYS[2..] the feedback hashes (one brand: one hash slot)
-- Answers one JSON array (one string to parse, not an element per field): the version, then four per
-- feedback: reason, suggestion, rating, language (false when missing).
local answer = {redis.call('GET', KEYS[1])}
for i = 2, #KEYS do
  local fields = redis.call('HMGET', KEYS[i], 'reason', 'suggestion', 'rating', 'language')
  for j = 1, 4 do
    answer[#answer + 1] = fields[j]
  end
end
return cjson.encode(answer)
"""
_TEXT_FIELDS = 4
# Event-loop turns given to the reading and storing tasks before the model holds the loop: enough for each to
# send its request, or its next one when the answer to the last already arrived.
_TURNS_BEFORE_ANALYSIS = 3
# One encoder for every analysis stored: `json.dumps(..., ensure_ascii=False)` builds a new one each call.
_json = json.JSONEncoder(ensure_ascii=False).encode
_ScriptCall: TypeAlias = tuple[list[str], list[str | float]]  # one script call: its keys, its arguments

_STORE_ANALYSES = """
-- KEYS[1] the brand's event stream, KEYS[2..] the feedback hashes (one brand: one hash slot)
-- ARGV[1] analysed_at, ARGV[2] a JSON array of one row per feedback hash (one argument, not six per
-- feedback): marker (stream entry id, '' to overwrite), kind, aspects, entities, language, feedback id.
-- Answers per feedback: 1 stored, 0 stored before, -1 feedback gone.
local rows = cjson.decode(ARGV[2])
local results = {}
for i = 2, #KEYS do
  local key, row = KEYS[i], rows[i - 1]
  local marker = row[1]
  if redis.call('EXISTS', key) == 0 then
    results[#results + 1] = -1
  elseif marker ~= '' and redis.call('HGET', key, 'analysis_entry') == marker then
    results[#results + 1] = 0
  else
    redis.call('HSET', key, 'kind', row[2], 'aspects', row[3], 'entities', row[4],
               'analysis_language', row[5], 'analysed_at', ARGV[1], 'analysis_entry', marker)
    redis.call('HINCRBY', key, 'analysis_count', 1)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', 100000, '*', 'type', 'analysed', 'feedback', row[6])
    results[#results + 1] = 1
  end
end
return results
"""


class FeedbackAnalyzer(Protocol):
    """What the worker needs of `nlp.Analyzer`."""

    def analyze(self, items: Sequence[FeedbackText], vocabulary: Vocabulary | None = None) -> list[Analysis]: ...

    def analyze_groups(
        self, groups: Sequence[tuple[Sequence[FeedbackText], Vocabulary | None]]
    ) -> list[list[Analysis]]: ...


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One entry of the feedback stream."""

    entry_id: str
    brand: str
    feedback_id: str


@dataclass(frozen=True, slots=True)
class _BrandBatch:
    """One brand's part of a batch: the entries whose feedback still exists, their texts, the vocabulary."""

    brand: str
    present: list[tuple[StreamEntry, FeedbackText]]
    vocabulary: Vocabulary


class AnalysisStore:
    """Reads feedback texts and writes analyses; shared by the worker and `parole reanalyze`."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time, *, lane: RedisLane | None = None) -> None:
        """With a `lane` (`bot.storage.lane`), the scripts go through it rather than redis-py's pipelines."""
        self.redis = redis
        self.lane = lane
        self.clock = clock
        self.vocabularies = VocabularyStore(redis)
        self._cache: dict[str, Vocabulary] = {}
        self._read_script = redis.register_script(_READ_TEXTS)
        self._store_script = redis.register_script(_STORE_ANALYSES)

    async def vocabulary(self, brand: str) -> Vocabulary:
        """The brand's vocabulary, reloaded only when its version changed (one GET otherwise)."""
        return await self._vocabulary_at(brand, await self.vocabularies.version(brand))

    async def _vocabulary_at(self, brand: str, version: str) -> Vocabulary:
        cached = self._cache.get(brand)
        if cached is not None and cached.version == version:
            return cached
        vocabulary = await self.vocabularies.load(brand)
        self._cache[brand] = vocabulary
        return vocabulary

    async def texts(self, brand: str, feedback_ids: Sequence[str]) -> list[FeedbackText | None]:
        """The texts of a brand's feedbacks, None for one that is gone (erased or never stored)."""
        [(_, texts)] = await self.read([(brand, feedback_ids)])
        return texts

    async def read(
        self, wanted: Sequence[tuple[str, Sequence[str]]]
    ) -> list[tuple[Vocabulary, list[FeedbackText | None]]]:
        """For each (brand, feedback ids): the brand's current vocabulary and the feedbacks' texts (None for one
        that is gone); every brand in one round trip, plus one to reload a vocabulary that changed."""
        calls: list[_ScriptCall] = [
            ([keys.vocabulary_version(brand), *(keys.feedback(brand, i) for i in ids)], []) for brand, ids in wanted
        ]
        answers = [json.loads(answer) for answer in await self._run(self._read_script, calls)]
        result: list[tuple[Vocabulary, list[FeedbackText | None]]] = []
        for (brand, _), answer in zip(wanted, answers, strict=True):
            vocabulary = await self._vocabulary_at(brand, str(answer[0] or "0"))
            result.append((vocabulary, _texts(answer)))
        return result

    async def save(self, brand: str, feedback_id: str, analysis: Analysis, *, marker: str) -> int:
        """Store one analysis; 1 if stored, 0 if this stream entry was stored before, -1 if the feedback is gone."""
        [result] = await self.save_many(brand, [(feedback_id, analysis, marker)])
        return result

    async def save_many(self, brand: str, results: Sequence[tuple[str, Analysis, str]]) -> list[int]:
        """Store a batch of (feedback id, analysis, marker) of one brand in one script call; see `save`."""
        [answers] = await self.save_brands([(brand, results)])
        return answers

    async def save_brands(self, batches: Sequence[tuple[str, Sequence[tuple[str, Analysis, str]]]]) -> list[list[int]]:
        """`save_many` for several brands at once: one script call per brand (its keys share a hash slot), all
        in one round trip. Raises the first error after every brand's call ran."""
        calls: list[_ScriptCall] = []
        for brand, results in batches:
            if not results:
                continue
            rows = [
                [
                    marker,
                    analysis.kind.value,
                    json.dumps(analysis.aspects),
                    _json([entity.to_json() for entity in analysis.entities]),
                    analysis.language,
                    feedback_id,
                ]
                for feedback_id, analysis, marker in results
            ]
            args: list[str | float] = [self.clock(), _json(rows)]
            calls.append(([keys.events(brand), *(keys.feedback(brand, i) for i, _, _ in results)], args))
        answers = iter(await self._run(self._store_script, calls))
        stored = [[int(answer) for answer in next(answers)] if results else [] for _, results in batches]
        await self._index(batches, stored)
        return stored

    async def _index(
        self, batches: Sequence[tuple[str, Sequence[tuple[str, Analysis, str]]]], stored: Sequence[Sequence[int]]
    ) -> None:
        """Put each stored analysis's kind and aspects in the inbox index (one more round trip)."""
        commands = [
            index_command(brand, feedback_id, None, analysis_facets(analysis.kind.value, analysis.aspects, ASPECTS))
            for (brand, results), answers in zip(batches, stored, strict=True)
            for (feedback_id, analysis, _), answer in zip(results, answers, strict=True)
            if answer == 1
        ]
        if commands:
            await run_commands(self.redis, self.lane, commands)

    async def _run(self, script: AsyncScript, calls: Sequence[_ScriptCall]) -> list[Any]:
        """Run `script` once per (keys, args), all in one pipeline. A server that lost its scripts (restarted,
        SCRIPT FLUSH) is given this one again, and only the calls it refused are sent again."""
        replies = await self._pipelined(script, calls)
        refused = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if refused:
            script.sha = await self.redis.script_load(script.script)
            again = await self._pipelined(script, [calls[i] for i in refused])
            for i, reply in zip(refused, again, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _pipelined(self, script: AsyncScript, calls: Sequence[_ScriptCall]) -> list[Any]:
        if not calls:
            return []
        if self.lane is not None:
            evalsha = [("EVALSHA", script.sha, len(call_keys), *call_keys, *args) for call_keys, args in calls]
            return await self.lane.execute(evalsha, raise_on_error=False)
        # A cluster pipeline refuses EVALSHA (redis-py): there the script's text goes with each call.
        cluster = is_cluster(self.redis)
        async with self.redis.pipeline(transaction=False) as pipe:
            for call_keys, args in calls:
                if cluster:
                    pipe.eval(str(script.script), len(call_keys), *call_keys, *args)
                else:
                    pipe.evalsha(script.sha, len(call_keys), *call_keys, *args)
            return list(await pipe.execute(raise_on_error=False))


def _texts(answer: Sequence[Any]) -> list[FeedbackText | None]:
    """The feedback texts from a `_READ_TEXTS` answer (after its version)."""
    texts: list[FeedbackText | None] = []
    for at in range(1, len(answer), _TEXT_FIELDS):
        reason, suggestion, rating, language = answer[at : at + _TEXT_FIELDS]
        if rating is False:
            texts.append(None)  # erased or never stored: nothing to analyse
        else:
            texts.append(FeedbackText(reason or None, suggestion or None, int(rating), language or None))
    return texts


def analyse_safely(
    analyzer: FeedbackAnalyzer, items: Sequence[FeedbackText], vocabulary: Vocabulary
) -> list[Analysis | None]:
    """Analyse a batch; if the batch fails, each text alone, so one bad text cannot block the others."""
    try:
        return list(analyzer.analyze(items, vocabulary))
    except Exception:
        log.exception("a batch of %d failed; analysing one by one", len(items))
    results: list[Analysis | None] = []
    for item in items:
        try:
            results.append(analyzer.analyze([item], vocabulary)[0])
        except Exception:
            log.exception("analysis failed for one feedback; it is acknowledged without analysis")
            results.append(None)
    return results


def analyse_groups_safely(
    analyzer: FeedbackAnalyzer, groups: Sequence[tuple[Sequence[FeedbackText], Vocabulary]]
) -> list[list[Analysis | None]]:
    """Analyse several brands' batches in one stream; if that fails, each brand's batch on its own."""
    try:
        return [list(analyses) for analyses in analyzer.analyze_groups(groups)]
    except Exception:
        log.exception("a mixed batch of %d brands failed; analysing brand by brand", len(groups))
    return [analyse_safely(analyzer, items, vocabulary) for items, vocabulary in groups]


class AnalysisWorker:
    """One consumer of the `analysis` group."""

    def __init__(
        self,
        redis: Redis,
        analyzer: FeedbackAnalyzer,
        *,
        name: str | None = None,
        batch_size: int = BATCH_SIZE,
        block: float = 1.0,
        claim_idle: float = 60.0,
        clock: Callable[[], float] = time.time,
        lane: RedisLane | None = None,
    ) -> None:
        """`lane` (`bot.storage.lane`, one Redis server only): the batches' reads, scripts and acknowledgements
        go through it instead of redis-py's pipelines (blocking reads, when the stream is idle, do not)."""
        self.redis = redis
        self.lane = lane
        self.analyzer = analyzer
        self.name = name or consumer_name()
        self.batch_size = batch_size
        self.block_ms = max(1, int(block * 1000))
        self.claim_idle_ms = int(claim_idle * 1000)
        self.store = AnalysisStore(redis, clock, lane=lane)
        self.clock = clock
        self.analysed = 0

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def claim_abandoned(self) -> list[StreamEntry]:
        """Entries another worker read but did not acknowledge for `claim_idle` seconds."""
        return _claimed(await self._claim(self.redis))

    async def read_new(self, *, block: bool = True) -> list[StreamEntry]:
        return _read(await self._read_new(self.redis, block=block))

    async def fetch(self, *, block: bool) -> list[StreamEntry]:
        """What dead workers left (see `claim_abandoned`) and new entries, in one round trip; if there are none
        and `block`, wait up to `block` seconds for new ones."""
        if self.lane is not None:
            claim = ("XAUTOCLAIM", keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, self.name, self.claim_idle_ms, "0-0")
            read = ("XREADGROUP", "GROUP", keys.ANALYSIS_GROUP, self.name, "COUNT", self.batch_size)
            claimed, new = await self.lane.execute(
                [(*claim, "COUNT", self.batch_size), (*read, "STREAMS", keys.FEEDBACK_STREAM, ">")]
            )
            entries = _entries(claimed[1]) + (_entries(new[0][1]) if new else [])
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                self._claim(pipe)
                self._read_new(pipe, block=False)
                claimed, new = await pipe.execute()
            entries = _claimed(claimed) + _read(new)
        if entries or not block:
            return entries
        return await self.read_new(block=True)

    def _claim(self, client: Redis | Pipeline) -> Any:
        return client.xautoclaim(
            keys.FEEDBACK_STREAM,
            keys.ANALYSIS_GROUP,
            self.name,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=self.batch_size,
        )

    def _read_new(self, client: Redis | Pipeline, *, block: bool) -> Any:
        return client.xreadgroup(
            keys.ANALYSIS_GROUP,
            self.name,
            {keys.FEEDBACK_STREAM: ">"},
            count=self.batch_size,
            block=self.block_ms if block else None,
        )

    async def process(self, entries: Sequence[StreamEntry]) -> int:
        """Analyse, store, acknowledge a batch; return how many analyses were stored."""
        prepared = await self._prepare(entries)
        return await self._store(entries, prepared, self._analyse(prepared))

    async def _prepare(self, entries: Sequence[StreamEntry]) -> list[_BrandBatch]:
        """The batch's texts, grouped by brand, with each brand's vocabulary (one round trip for all brands)."""
        by_brand: dict[str, list[StreamEntry]] = {}
        for entry in entries:
            by_brand.setdefault(entry.brand, []).append(entry)
        read = await self.store.read([(brand, [e.feedback_id for e in group]) for brand, group in by_brand.items()])
        groups: list[_BrandBatch] = []
        for (brand, group), (vocabulary, texts) in zip(by_brand.items(), read, strict=True):
            present = [(e, t) for e, t in zip(group, texts, strict=True) if t is not None]
            if present:
                groups.append(_BrandBatch(brand, present, vocabulary))
        return groups

    def _analyse(self, groups: Sequence[_BrandBatch]) -> list[list[Analysis | None]]:
        """All brands of the batch in one stream through the model, in the event loop's thread (see `drain`)."""
        batches = [([t for _, t in g.present], g.vocabulary) for g in groups]
        return analyse_groups_safely(self.analyzer, batches)

    async def _store(
        self,
        entries: Sequence[StreamEntry],
        groups: Sequence[_BrandBatch],
        analysed: Sequence[Sequence[Analysis | None]],
    ) -> int:
        done = [
            (
                group.brand,
                [
                    (entry.feedback_id, analysis, entry.entry_id)
                    for (entry, _), analysis in zip(group.present, analyses, strict=True)
                    if analysis is not None
                ],
            )
            for group, analyses in zip(groups, analysed, strict=True)
        ]
        stored = sum(max(0, r) for answers in await self.store.save_brands(done) for r in answers)
        if entries and self.lane is not None:
            await self.lane.execute(
                [("XACK", keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, *(e.entry_id for e in entries))]
            )
        elif entries:
            await self.redis.xack(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, *(e.entry_id for e in entries))
        self.analysed += stored
        return stored

    async def _next(self, *, block: bool) -> tuple[list[StreamEntry], list[_BrandBatch]]:
        entries = await self.fetch(block=block)
        return entries, await self._prepare(entries) if entries else []

    async def drain(self, *, stop: asyncio.Event | None = None, until_idle: bool = False) -> None:
        """Process batches until `stop` is set (or the stream is idle). While the model analyses batch N,
        the requests that read batch N+1 and store batch N-1 are on their way and Redis answers them.

        The model runs in the event loop's thread and holds it for a batch (about 0.1 s for 128 texts; the
        notifier in the same process waits that long at most): the requests are sent before it starts,
        their answers wait in the sockets, and the loop picks them up once it is done. Run in a thread of
        its own instead, the same batches took 4% more CPU (another thread's malloc arena and caches, and the
        GIL handed back and forth with the loop) and the worker 5% more time (`bench/bench_worker.py`)."""
        storing: asyncio.Task[int] | None = None
        upcoming: asyncio.Task[tuple[list[StreamEntry], list[_BrandBatch]]] | None = None
        try:
            while stop is None or not stop.is_set():
                entries, prepared = await (upcoming or self._next(block=not until_idle))
                upcoming = None
                if not entries:
                    if storing is not None:
                        await storing
                        storing = None
                    if until_idle:
                        break
                    await self.redis.hset(keys.WORKERS, self.name, self.clock())
                    continue
                upcoming = asyncio.create_task(self._next(block=False))
                for _ in range(_TURNS_BEFORE_ANALYSIS):  # each task sends its next request
                    await asyncio.sleep(0)
                analysed = self._analyse(prepared)
                if storing is not None:
                    await storing
                storing = asyncio.create_task(self._store(entries, prepared, analysed))
        finally:
            if storing is not None:
                await storing
            if upcoming is not None:
                # Entries it read stay pending for this consumer; they are claimed again after `claim_idle`.
                await upcoming

    async def step(self, *, block: bool = True) -> int:
        """One round: claim what dead workers left and read new entries; process them."""
        entries = await self.fetch(block=block)
        await self.process(entries)
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        log.info("worker %s reading %s", self.name, keys.FEEDBACK_STREAM)
        while not stop.is_set():
            try:
                await self.redis.hset(keys.WORKERS, self.name, self.clock())
                await self.drain(stop=stop)
            except REDIS_UNAVAILABLE as exc:
                log.warning("worker %s: Redis unavailable (%s); retrying", self.name, exc)
                await asyncio.sleep(1.0)
        try:
            await self.redis.hdel(keys.WORKERS, self.name)
        except REDIS_UNAVAILABLE as exc:
            # Redis went first: the heartbeat stays, and grows old like a dead worker's (nothing is lost).
            log.warning("worker %s: Redis unavailable at stop (%s); its heartbeat stays", self.name, exc)


def _claimed(reply: Any) -> list[StreamEntry]:
    """The entries of an XAUTOCLAIM reply."""
    return _entries(reply[1])


def _read(reply: Any) -> list[StreamEntry]:
    """The entries of an XREADGROUP reply on the feedback stream."""
    if not reply:
        return []
    if isinstance(reply, dict):  # RESP3 answers a map of stream → entries
        return _entries(next(iter(reply.values())))
    return _entries(reply[0][1])


def _entries(raw: Any) -> list[StreamEntry]:
    """Stream entries as redis-py parses them (fields a dict) or as Redis sends them through a lane (a flat
    list of fields and values)."""
    entries: list[StreamEntry] = []
    for entry_id, flat_or_dict in raw or []:
        if flat_or_dict is None:  # deleted from the stream meanwhile
            continue
        fields = flat_or_dict
        if not isinstance(fields, dict):
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        entries.append(StreamEntry(str(entry_id), str(fields.get("brand", "")), str(fields.get("feedback", ""))))
    return entries


async def reanalyze(
    redis: Redis,
    analyzer: FeedbackAnalyzer,
    brands: Sequence[str],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Analyse again every stored feedback of `brands` (after a vocabulary or model change)."""
    store = AnalysisStore(redis)
    stored = 0
    for brand in brands:
        vocabulary = await store.vocabulary(brand)
        start = 0
        while True:
            ids = [str(i) for i in await redis.zrange(keys.feedbacks(brand), start, start + batch_size - 1)]
            if not ids:
                break
            start += len(ids)
            texts = await store.texts(brand, ids)
            present = [(i, t) for i, t in zip(ids, texts, strict=True) if t is not None]
            analyses = await asyncio.to_thread(analyse_safely, analyzer, [t for _, t in present], vocabulary)
            done = [
                (i, analysis, "") for (i, _), analysis in zip(present, analyses, strict=True) if analysis is not None
            ]
            stored += sum(max(0, r) for r in await store.save_many(brand, done))
            if on_batch is not None:
                on_batch(len(ids))
    return stored
