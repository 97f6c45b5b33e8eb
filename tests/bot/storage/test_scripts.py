"""Lua scripts by their SHA1 (`bot.storage.scripts`): the inbox index and the chat lock go as `EVALSHA` in the
turn's round trip, on the lane and in redis-py pipelines; a server that lost its scripts gets their text once."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.staff.tickets import TicketStatus, TicketStore
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.index import FeedbackIndex, InboxQuery
from bot.storage.lane import RedisLane, lane_for
from bot.storage.scripts import Lua, execute, queue, run_commands
from bot.storage.store import Store
from bot.storage.venues import Venue
from dialogs.types import Conversation, FeedbackRecord, FeedbackStatus, VenueRef
from tests.seeding import seed_feedback

MONDAY = 1_788_771_600.0  # 2026-09-07 09:00 UTC


async def _calls(redis: Redis) -> dict[str, int]:
    """How many EVAL and EVALSHA the server ran since the last `CONFIG RESETSTAT`."""
    stats = await redis.info("commandstats")
    return {name: int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("eval", "evalsha")}


@pytest.fixture(params=["lane", "pipeline"])
async def store(request: pytest.FixtureRequest, redis_client: Redis) -> AsyncIterator[Store]:
    lane = lane_for(redis_client) if request.param == "lane" else None
    yield Store(redis_client, lane=lane)
    if lane is not None:
        await lane.aclose()


async def _save(store: Store, venue: Venue, number: int) -> None:
    """A complete feedback saved as a customer's turn is (its index, with the chat lock's release)."""
    created = MONDAY + number * 60
    record = FeedbackRecord(
        id=f"{int(created * 1000):011x}{number:04x}", venue=VenueRef(venue.brand, venue.code, venue.name),
        language="fr", rating=2, reason="On a attendu 40 minutes.", suggestion=None,
        status=FeedbackStatus.COMPLETE, created_at=created, updated_at=created, flow="default",
    )  # fmt: skip
    who = CustomerId.telegram(5000 + number)
    assert (await store.load_chat(who, lock="l")).locked
    await store.save_turn(who, Conversation(), [record], duplicate_window=1, conversation_timeout=1800, lock="l")


async def test_the_index_goes_by_sha_and_its_text_only_after_a_script_flush(store: Store) -> None:
    redis = store.redis
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    index = FeedbackIndex(redis)
    await _save(store, venue, 0)  # the scripts are on the server from now on
    await redis.config_resetstat()
    for number in (1, 2):
        await _save(store, venue, number)
    assert await _calls(redis) == {"eval": 0, "evalsha": 4}  # the index and the lock's release, by SHA1
    await redis.script_flush()  # as after a restart: the server knows no script
    await redis.config_resetstat()
    for number in (3, 4):
        await _save(store, venue, number)
    # The first save after the flush sends the texts once (only the calls refused); the next by SHA1 again.
    assert await _calls(redis) == {"eval": 2, "evalsha": 4}
    page = await index.query(InboxQuery("quick", {"venue": [venue.code]}))
    assert page.count == 5 and len(set(page.feedback_ids)) == 5  # each feedback indexed once
    assert await redis.exists(keys.chat_lock(CustomerId.telegram(5004))) == 0  # the lock given back


async def test_run_commands_and_pipelines_send_the_text_where_it_is_missing(redis_client: Redis) -> None:
    script = Lua("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    lane = lane_for(redis_client)
    assert isinstance(lane, RedisLane)
    try:
        await redis_client.script_flush()
        assert await run_commands(redis_client, lane, [("SET", "n", 1), script.call(["n"], [2])]) == ["OK", 3]
        assert await run_commands(redis_client, None, [script.call(["n"], [3])]) == [6]
        for way in (lane, None):  # inside MULTI/EXEC: the refused call runs again after the transaction
            await redis_client.script_flush()
            replies = await run_commands(redis_client, way, [("MULTI",), script.call(["n"], [1]), ("EXEC",)])
            assert replies[-1][0] in (7, 8) and replies[0] in ("OK", True)
        assert await redis_client.get("n") == "8"
        await redis_client.script_flush()
        async with redis_client.pipeline(transaction=False) as pipe:
            pipe.get("n")
            queue(pipe, script.call(["n"], [4]))
            assert await execute(pipe) == ["8", 12]
        # Other error replies still raise, after the batch ran.
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await run_commands(redis_client, lane, [("LPUSH", "n", "x"), ("SET", "after", 1)])
        assert await redis_client.get("after") == "1"
    finally:
        await lane.aclose()


async def test_tickets_index_their_status_by_sha(redis_client: Redis) -> None:
    store = Store(redis_client)
    await store.add_brand("quick", "Quick")
    venue = await store.add_venue("quick", "Quick Massy")
    await seed_feedback(redis_client, [venue], 4, start=MONDAY, spacing=60, rng=random.Random(4), batch=4)
    tickets = TicketStore(redis_client)
    [first, *_] = await tickets.all_tickets("quick")
    await redis_client.script_flush()
    await redis_client.config_resetstat()
    await tickets.close(first, TicketStatus.SPAM, MONDAY + 7200)
    await tickets.reopen((await tickets.get("quick", first.number)) or first, MONDAY + 7300, due=MONDAY + 9000)
    assert await _calls(redis_client) == {"eval": 1, "evalsha": 2}  # refused once, then by SHA1
    page = await FeedbackIndex(redis_client).query(InboxQuery("quick", {"status": ["spam"]}))
    assert page.count == 0
