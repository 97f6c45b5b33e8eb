"""Indexing feedback stored before the inbox index existed (`FeedbackIndex.index_missing`, `parole inbox
reindex`): every filter and word search finds what it found when the feedback was indexed as stored; a second
run indexes nothing; a run cut short goes on where it stopped."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.storage import keys
from bot.storage.index import FeedbackIndex, InboxQuery
from bot.storage.store import Store
from tests.seeding import seed_feedback

MONDAY = 1_788_771_600.0  # 2026-09-07 09:00 UTC
QUERIES = [
    InboxQuery("quick", {}, limit=100),
    InboxQuery("quick", {"rating": ["1", "2"]}, limit=100),
    InboxQuery("quick", {"status": ["answered"]}, limit=100),
    InboxQuery("quick", {"status": ["open"], "channel": ["whatsapp"]}, limit=100),
    InboxQuery("quick", {"kind": ["complaint"]}, limit=100),
    InboxQuery("quick", {"suggestion": ["1"]}, limit=100),
    InboxQuery("quick", {}, text="big tasty", limit=100),
]


async def _answers(index: FeedbackIndex) -> list[tuple[int, set[str]]]:
    return [((page := await index.query(q)).count, set(page.feedback_ids)) for q in QUERIES]


async def _forget_the_index(redis: Redis) -> None:
    """As before the index existed: no index keys, no position on the feedback."""
    async for key in redis.scan_iter(match=f"{keys.index('quick')}:*"):
        await redis.delete(key)
    for feedback_id in await redis.zrange(keys.feedbacks("quick"), 0, -1):
        await redis.hdel(keys.feedback("quick", str(feedback_id)), "ix")


@pytest.fixture
async def indexed(redis_client: Redis) -> list[tuple[int, set[str]]]:
    """90 feedbacks (answered, analysed, from several channels), and what the queries found as stored."""
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venues = [await store.add_venue("quick", "Quick Massy"), await store.add_venue("quick", "Quick Orly")]
    await seed_feedback(redis_client, venues, 90, start=MONDAY, spacing=3600, rng=random.Random(5), batch=30,
                        channels=("telegram", "whatsapp", "web"))  # fmt: skip
    answers = await _answers(FeedbackIndex(redis_client))
    assert all(count > 0 for count, _ in answers) and answers[0][0] == 90, [c for c, _ in answers]
    await _forget_the_index(redis_client)
    assert (await FeedbackIndex(redis_client).query(QUERIES[0])).count == 0
    return answers


async def test_a_run_cut_short_goes_on_where_it_stopped(
    redis_client: Redis, indexed: list[tuple[int, set[str]]]
) -> None:
    index = FeedbackIndex(redis_client)

    def stop(done: int, _indexed: int) -> None:
        if done >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await index.index_missing("quick", batch=20, on_batch=stop)
    assert (await index.query(QUERIES[0])).count == 40
    assert await index.index_missing("quick", batch=20) == (90, 50)
    assert await _answers(index) == indexed
    assert await index.index_missing("quick") == (90, 0)  # idempotent


def test_parole_inbox_reindex(redis_url: str, tmp_path: Path, indexed: list[tuple[int, set[str]]]) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_url, "PAROLE_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot", "inbox", "reindex"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"brand": "quick", "feedback": 90, "indexed": 90}
    ]
    assert "90/90 retours de quick" in done.stderr  # the progress
    again = subprocess.run([sys.executable, "-m", "bot", "inbox", "reindex", "--brand", "quick"], env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert json.loads(again.stdout) == {"brand": "quick", "feedback": 90, "indexed": 0}
    unknown = subprocess.run([sys.executable, "-m", "bot", "inbox", "reindex", "--brand", "nope"], env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert unknown.returncode == 1 and "nope" in unknown.stderr
