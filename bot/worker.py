"""The analysis worker: reads the feedback stream through a consumer group, analyses in batches off the
event loop, stores each result once, then acknowledges.

Several workers share the stream. An entry left pending by a dead worker is claimed by another after
`claim_idle` seconds. Storing a brand's results is one Lua script on that brand's keys (one hash slot,
cluster-safe): it writes each analysis and its staff-room event only if that stream entry was not stored
already, so a worker that dies between storing and acknowledging causes no second event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot import keys
from bot.redis_cluster import REDIS_UNAVAILABLE
from bot.vocabulary import VocabularyStore
from nlp.types import Analysis, FeedbackText, Vocabulary

log = logging.getLogger(__name__)

_STORE_ANALYSES = """
-- KEYS[1] the brand's event stream, KEYS[2..] the feedback hashes (one brand: one hash slot)
-- ARGV[1] analysed_at, then six per feedback: marker (stream entry id, '' to overwrite), kind, aspects,
-- entities, language, feedback id. Answers per feedback: 1 stored, 0 stored before, -1 feedback gone.
local results = {}
for i = 2, #KEYS do
  local a = 2 + (i - 2) * 6
  local key, marker = KEYS[i], ARGV[a]
  if redis.call('EXISTS', key) == 0 then
    results[#results + 1] = -1
  elseif marker ~= '' and redis.call('HGET', key, 'analysis_entry') == marker then
    results[#results + 1] = 0
  else
    redis.call('HSET', key, 'kind', ARGV[a + 1], 'aspects', ARGV[a + 2], 'entities', ARGV[a + 3],
               'analysis_language', ARGV[a + 4], 'analysed_at', ARGV[1], 'analysis_entry', marker)
    redis.call('HINCRBY', key, 'analysis_count', 1)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', 100000, '*', 'type', 'analysed', 'feedback', ARGV[a + 5])
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


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class AnalysisStore:
    """Reads feedback texts and writes analyses; shared by the worker and `parole reanalyze`."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock
        self.vocabularies = VocabularyStore(redis)
        self._cache: dict[str, Vocabulary] = {}
        self._script = redis.register_script(_STORE_ANALYSES)

    async def vocabulary(self, brand: str) -> Vocabulary:
        """The brand's vocabulary, reloaded only when its version changed (one GET otherwise)."""
        cached = self._cache.get(brand)
        if cached is not None and cached.version == await self.vocabularies.version(brand):
            return cached
        vocabulary = await self.vocabularies.load(brand)
        self._cache[brand] = vocabulary
        return vocabulary

    async def texts(self, brand: str, feedback_ids: Sequence[str]) -> list[FeedbackText | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for feedback_id in feedback_ids:
                pipe.hmget(keys.feedback(brand, feedback_id), ["reason", "suggestion", "rating", "language"])
            rows = await pipe.execute()
        texts: list[FeedbackText | None] = []
        for reason, suggestion, rating, language in rows:
            if rating is None:
                texts.append(None)  # erased or never stored: nothing to analyse
            else:
                texts.append(FeedbackText(reason or None, suggestion or None, int(rating), language or None))
        return texts

    async def save(self, brand: str, feedback_id: str, analysis: Analysis, *, marker: str) -> int:
        """Store one analysis; 1 if stored, 0 if this stream entry was stored before, -1 if the feedback is gone."""
        [result] = await self.save_many(brand, [(feedback_id, analysis, marker)])
        return result

    async def save_many(self, brand: str, results: Sequence[tuple[str, Analysis, str]]) -> list[int]:
        """Store a batch of (feedback id, analysis, marker) of one brand in one script call; see `save`."""
        if not results:
            return []
        feedback_keys = [keys.feedback(brand, feedback_id) for feedback_id, _, _ in results]
        args: list[str | float] = [self.clock()]
        for feedback_id, analysis, marker in results:
            data = analysis.to_json()
            args += [
                marker,
                data["kind"],
                json.dumps(data["aspects"]),
                json.dumps(data["entities"], ensure_ascii=False),
                data["language"],
                feedback_id,
            ]
        answers = await self._script(keys=[keys.events(brand), *feedback_keys], args=args)
        return [int(answer) for answer in answers]


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
        batch_size: int = 64,
        block: float = 1.0,
        claim_idle: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.analyzer = analyzer
        self.name = name or worker_name()
        self.batch_size = batch_size
        self.block_ms = max(1, int(block * 1000))
        self.claim_idle_ms = int(claim_idle * 1000)
        self.store = AnalysisStore(redis, clock)
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
        reply = await self.redis.xautoclaim(
            keys.FEEDBACK_STREAM,
            keys.ANALYSIS_GROUP,
            self.name,
            min_idle_time=self.claim_idle_ms,
            start_id="0-0",
            count=self.batch_size,
        )
        return _entries(reply[1])

    async def read_new(self, *, block: bool = True) -> list[StreamEntry]:
        reply = await self.redis.xreadgroup(
            keys.ANALYSIS_GROUP,
            self.name,
            {keys.FEEDBACK_STREAM: ">"},
            count=self.batch_size,
            block=self.block_ms if block else None,
        )
        if not reply:
            return []
        if isinstance(reply, dict):  # RESP3 answers a map of stream → entries
            return _entries(next(iter(reply.values())))
        return _entries(reply[0][1])

    async def process(self, entries: Sequence[StreamEntry]) -> int:
        """Analyse, store, acknowledge a batch; return how many analyses were stored."""
        prepared = await self._prepare(entries)
        return await self._store(entries, prepared, await self._analyse(prepared))

    async def _prepare(self, entries: Sequence[StreamEntry]) -> list[_BrandBatch]:
        """The batch's texts, grouped by brand, with each brand's vocabulary."""
        by_brand: dict[str, list[StreamEntry]] = {}
        for entry in entries:
            by_brand.setdefault(entry.brand, []).append(entry)
        groups: list[_BrandBatch] = []
        for brand, group in by_brand.items():
            texts = await self.store.texts(brand, [e.feedback_id for e in group])
            present = [(e, t) for e, t in zip(group, texts, strict=True) if t is not None]
            if present:
                groups.append(_BrandBatch(brand, present, await self.store.vocabulary(brand)))
        return groups

    async def _analyse(self, groups: Sequence[_BrandBatch]) -> list[list[Analysis | None]]:
        """All brands of the batch in one stream through the model, in a thread (never on the event loop)."""
        batches = [([t for _, t in g.present], g.vocabulary) for g in groups]
        return await asyncio.to_thread(analyse_groups_safely, self.analyzer, batches)

    async def _store(
        self,
        entries: Sequence[StreamEntry],
        groups: Sequence[_BrandBatch],
        analysed: Sequence[Sequence[Analysis | None]],
    ) -> int:
        stored = 0
        for group, analyses in zip(groups, analysed, strict=True):
            done = [
                (entry.feedback_id, analysis, entry.entry_id)
                for (entry, _), analysis in zip(group.present, analyses, strict=True)
                if analysis is not None
            ]
            stored += sum(max(0, r) for r in await self.store.save_many(group.brand, done))
        if entries:
            await self.redis.xack(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP, *(e.entry_id for e in entries))
        self.analysed += stored
        return stored

    async def _next(self, *, block: bool) -> tuple[list[StreamEntry], list[_BrandBatch]]:
        entries = await self.claim_abandoned() or await self.read_new(block=block)
        return entries, await self._prepare(entries) if entries else []

    async def drain(self, *, stop: asyncio.Event | None = None, until_idle: bool = False) -> None:
        """Process batches until `stop` is set (or the stream is idle). While the model analyses batch N in
        its thread, the event loop reads and prepares batch N+1 and stores batch N-1."""
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
                analysing = asyncio.ensure_future(self._analyse(prepared))
                upcoming = asyncio.create_task(self._next(block=False))
                if storing is not None:
                    await storing
                analysed = await analysing
                storing = asyncio.create_task(self._store(entries, prepared, analysed))
        finally:
            if storing is not None:
                await storing
            if upcoming is not None:
                # Entries it read stay pending for this consumer; they are claimed again after `claim_idle`.
                await upcoming

    async def step(self, *, block: bool = True) -> int:
        """One round: claim what dead workers left, else read new entries; process them."""
        entries = await self.claim_abandoned()
        if not entries:
            entries = await self.read_new(block=block)
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
        await self.redis.hdel(keys.WORKERS, self.name)


def _entries(raw: Any) -> list[StreamEntry]:
    entries: list[StreamEntry] = []
    for entry_id, fields in raw or []:
        if fields is None:  # deleted from the stream meanwhile
            continue
        entries.append(StreamEntry(str(entry_id), str(fields.get("brand", "")), str(fields.get("feedback", ""))))
    return entries


async def reanalyze(
    redis: Redis,
    analyzer: FeedbackAnalyzer,
    brands: Sequence[str],
    *,
    batch_size: int = 64,
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
