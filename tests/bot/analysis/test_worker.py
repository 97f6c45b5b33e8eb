"""The analysis worker on real Redis and the real French model: batches, claims, stored once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.analysis.worker import AnalysisWorker, reanalyze
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.lane import RedisLane, lane_for
from bot.storage.store import Store
from bot.storage.vocabulary import VocabularyStore
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from nlp import Analyzer

REASONS = [
    ("Julien, le serveur, a été très aimable et rapide.", 5),
    ("On a attendu 40 minutes au guichet, c'est inadmissible, je veux être remboursé.", 1),
    ("Les toilettes étaient sales.", 2),
    ("Correct mais un peu cher.", 3),
]


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


async def _complete(store: Store, venue: VenueRef, number: int, reason: str, rating: int) -> str:
    record = FeedbackRecord(
        id=f"f{number:03d}", venue=venue, language="fr", rating=rating, reason=reason, suggestion=None,
        status=FeedbackStatus.COMPLETE, created_at=time.time(), updated_at=time.time(), flow="default",
    )  # fmt: skip
    await store.save_turn(
        CustomerId.telegram(100 + number), Conversation(), [record], duplicate_window=60, conversation_timeout=60
    )
    return record.id


@pytest.fixture(params=["redis-py", "lane"])
async def lane(request: pytest.FixtureRequest, redis_client: Redis) -> AsyncIterator[RedisLane | None]:
    """Each worker test twice: its round trips through redis-py's pipelines (a Redis Cluster, the tests'
    own workers) and through a lane (`parole worker` on one Redis server)."""
    made = lane_for(redis_client) if request.param == "lane" else None
    yield made
    if made is not None:
        await made.aclose()


@pytest.fixture
async def venue(redis_client: Redis) -> VenueRef:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    await store.add_venue("quick", "Quick Massy")
    return VenueRef("quick", "quick-massy", "Quick Massy", "Quick")


async def _analysis_counts(redis: Redis, brand: str) -> dict[str, int]:
    ids = [str(i) for i in await redis.zrange(keys.feedbacks(brand), 0, -1)]
    return {i: int(await redis.hget(keys.feedback(brand, i), "analysis_count") or 0) for i in ids}


async def test_each_feedback_is_analysed_stored_and_acknowledged(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    store = Store(redis_client)
    for number, (reason, rating) in enumerate(REASONS):
        await _complete(store, venue, number, reason, rating)
    worker = AnalysisWorker(redis_client, analyzer, name="w1", batch_size=3, block=0.05, lane=lane)
    await worker.ensure_group()
    await worker.drain(until_idle=True)  # batches of 3: the second is analysed while the first is stored
    assert worker.analysed == len(REASONS)
    feedback = {f["id"]: f async for f in store.iter_feedback("quick")}
    first = feedback["f000"]
    assert first["kind"] == "praise"
    assert {"text": "Julien", "label": "PER", "start": 0, "end": 6, "field": "reason"} in first["entities"]
    assert feedback["f001"]["kind"] == "complaint"
    assert "waiting_time" in feedback["f001"]["aspects"]
    assert "cleanliness" in feedback["f002"]["aspects"]
    pending = await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP)
    assert pending["pending"] == 0
    assert await redis_client.xlen(keys.events("quick")) == len(REASONS)
    assert set((await _analysis_counts(redis_client, "quick")).values()) == {1}


async def test_two_workers_share_the_stream_and_a_dead_one_is_taken_over(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    store = Store(redis_client)
    for number in range(40):
        reason, rating = REASONS[number % len(REASONS)]
        await _complete(store, venue, number, reason, rating)
    dying = AnalysisWorker(redis_client, analyzer, name="dying", batch_size=8, claim_idle=0.2, block=0.05, lane=lane)
    await dying.ensure_group()
    # It reads a batch and dies before storing anything.
    lost = await dying.read_new(block=False)
    assert len(lost) == 8
    # Another batch: stored, then it dies before acknowledging.
    half = await dying.read_new(block=False)
    for entry in half:
        [text] = await dying.store.texts(entry.brand, [entry.feedback_id])
        assert text is not None
        analysis = analyzer.analyze([text])[0]
        assert await dying.store.save(entry.brand, entry.feedback_id, analysis, marker=entry.entry_id) == 1
    await asyncio.sleep(0.3)
    a = AnalysisWorker(redis_client, analyzer, name="a", batch_size=8, claim_idle=0.2, block=0.05, lane=lane)
    b = AnalysisWorker(redis_client, analyzer, name="b", batch_size=8, claim_idle=0.2, block=0.05, lane=lane)

    async def drain(worker: AnalysisWorker) -> None:
        while await worker.step(block=False):
            await asyncio.sleep(0)

    await asyncio.gather(drain(a), drain(b))
    counts = await _analysis_counts(redis_client, "quick")
    assert len(counts) == 40 and set(counts.values()) == {1}, counts
    assert a.analysed > 0 and b.analysed > 0
    assert a.analysed + b.analysed + len(half) == 40
    assert await redis_client.xlen(keys.events("quick")) == 40  # no second event for the stored half
    assert (await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP))["pending"] == 0


async def test_a_vocabulary_change_is_picked_up_without_restart(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    store = Store(redis_client)
    worker = AnalysisWorker(redis_client, analyzer, name="w", block=0.05, lane=lane)
    await worker.ensure_group()
    await _complete(store, venue, 1, "Le Giant était froid.", 2)
    await worker.step(block=False)
    await VocabularyStore(redis_client).add("quick", "PRODUCT", "Giant", "giant-burger")
    await _complete(store, venue, 2, "Le Giant était froid.", 2)
    await worker.step(block=False)
    before, after = [f async for f in store.iter_feedback("quick")]
    assert not any(e.get("id") == "giant-burger" for e in before["entities"])
    assert {
        "text": "Giant",
        "label": "PRODUCT",
        "start": 3,
        "end": 8,
        "field": "reason",
        "id": "giant-burger",
    } in after["entities"]
    # reanalyze brings the older feedback up to date.
    assert await reanalyze(redis_client, analyzer, ["quick"]) == 2
    before, _ = [f async for f in store.iter_feedback("quick")]
    assert any(e.get("id") == "giant-burger" for e in before["entities"])


async def test_erased_feedback_is_acknowledged_without_analysis(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    store = Store(redis_client)
    feedback_id = await _complete(store, venue, 1, "Bien.", 4)
    await redis_client.delete(keys.feedback("quick", feedback_id))
    worker = AnalysisWorker(redis_client, analyzer, name="w", block=0.05, lane=lane)
    await worker.ensure_group()
    assert await worker.step(block=False) == 1
    assert worker.analysed == 0
    assert (await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP))["pending"] == 0


async def test_a_batch_of_several_brands_is_read_and_stored_in_one_round_trip_each(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    store = Store(redis_client)
    await store.add_brand("ibis", "Ibis")
    await store.add_venue("ibis", "Ibis Lyon")
    hotel = VenueRef("ibis", "ibis-lyon", "Ibis Lyon", "Ibis")
    await VocabularyStore(redis_client).add("ibis", "PER", "Nadia", "nadia")
    ids = []
    for number, (reason, rating) in enumerate(REASONS):
        ids.append(await _complete(store, venue if number % 2 else hotel, number, reason, rating))
    await _complete(store, hotel, 9, "Nadia à la réception, adorable.", 5)
    await redis_client.delete(keys.feedback("ibis", ids[2]))  # erased before the worker reads it
    worker = AnalysisWorker(redis_client, analyzer, name="w", batch_size=16, block=0.05, lane=lane)
    await worker.ensure_group()
    assert await worker.step(block=False) == 5
    assert worker.analysed == 4
    assert await redis_client.xlen(keys.events("quick")) == 2
    assert await redis_client.xlen(keys.events("ibis")) == 2
    assert not await redis_client.exists(keys.feedback("ibis", ids[2]))  # not recreated by the store
    hotel_feedback = {f["id"]: f async for f in store.iter_feedback("ibis")}
    assert hotel_feedback["f000"]["kind"] == "praise"
    assert {"text": "Nadia", "label": "PER", "start": 0, "end": 5, "field": "reason", "id": "nadia"} in hotel_feedback[
        "f009"
    ]["entities"]
    quick_feedback = {f["id"]: f async for f in store.iter_feedback("quick")}
    assert quick_feedback["f001"]["kind"] == "complaint"
    assert "price" in quick_feedback["f003"]["aspects"]
    assert (await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP))["pending"] == 0


async def test_scripts_forgotten_by_redis_are_loaded_again(
    redis_client: Redis, venue: VenueRef, analyzer: Analyzer, lane: RedisLane | None
) -> None:
    """A Redis restart or SCRIPT FLUSH forgets the worker's scripts: it gives them again, nothing is lost."""
    store = Store(redis_client)
    worker = AnalysisWorker(redis_client, analyzer, name="w", block=0.05, lane=lane)
    await worker.ensure_group()
    await _complete(store, venue, 1, *REASONS[0])
    assert await worker.step(block=False) == 1
    await redis_client.script_flush()
    await _complete(store, venue, 2, *REASONS[1])
    assert await worker.step(block=False) == 1
    assert worker.analysed == 2
    assert set((await _analysis_counts(redis_client, "quick")).values()) == {1}
    assert await redis_client.xlen(keys.events("quick")) == 2
    assert (await redis_client.xpending(keys.FEEDBACK_STREAM, keys.ANALYSIS_GROUP))["pending"] == 0


def test_nlp_analyze_prints_json_lines(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url}
    texts = tmp_path / "texts.txt"
    texts.write_text("Merci à Julien pour son accueil !\n\nLe train avait 20 minutes de retard.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "nlp", "analyze", "Bravo à toute l'équipe", "--file", str(texts)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == [
        "Bravo à toute l'équipe",
        "Merci à Julien pour son accueil !",
        "Le train avait 20 minutes de retard.",
    ]
    for line in lines:
        assert set(line) == {"text", "language", "kind", "aspects", "entities"}
    assert lines[0]["entities"] == []  # "Bravo" is not a place
    assert {"text": "Julien", "label": "PER", "start": 8, "end": 14} in lines[1]["entities"]
    assert "punctuality" in lines[2]["aspects"]
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "nlp", "analyze", "x", "--brand", "nobody"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1 and "la marque « nobody » n'existe pas" in bad.stderr
    empty = subprocess.run(
        [sys.executable, "-m", "bot", "nlp", "analyze"], env=env, capture_output=True, text=True, timeout=120
    )
    assert empty.returncode == 1 and "donnez des textes" in empty.stderr
