"""One chat's updates, whichever bot process gets them: handled once each, one at a time.

The lock and the handled update ids live in Redis, so a lock taken here "by another process" (the test)
is what a second bot process would hold; the two-process case is in tests/bot/test_replicas.py."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.cli.serve import RunningBot
from bot.conversations import chat as customer_chat
from bot.storage import keys
from bot.storage.identity import CustomerId
from bot.storage.venues import Venue
from emulator import BotApiEmulator
from tests.support import Customer


@pytest.fixture
async def venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


async def _feedback(bot: RunningBot) -> list[dict[str, object]]:
    return [f async for f in bot.store.iter_feedback()]


async def test_an_update_delivered_twice_is_handled_once(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    rated = await emulator.click(customer.user, customer.last_keyboard_message("rate:2"), "rate:2")
    reason = await emulator.send_text(customer.user, "On a attendu 40 minutes.")
    before = await redis_client.hgetall(keys.feedback("quick", str((await _feedback(bot))[0]["id"])))

    # The last update again, though it was answered: nothing changes, nothing is sent again.
    again = await emulator.deliver_raw(reason.update)
    assert again.status == 200 and again.calls == []
    assert [c.method for c in reason.calls] == ["sendMessage"]
    # Its answer not recorded as sent (the process stopped between the two): it goes out again.
    await redis_client.delete(keys.handled_update("telegram-chat", reason.update["update_id"]))
    again = await emulator.deliver_raw(reason.update)
    assert [c.method for c in again.calls] == ["sendMessage"]
    assert again.calls[0].params["text"] == reason.calls[0].params["text"]
    # An older one again: nothing at all.
    older = await emulator.deliver_raw(rated.update)
    assert older.status == 200 and older.calls == []

    [feedback] = await _feedback(bot)
    assert await redis_client.hgetall(keys.feedback("quick", str(feedback["id"]))) == before
    assert feedback["reason"] == "On a attendu 40 minutes." and feedback["status"] == "in_progress"
    await customer.say("Plus de caisses.")
    [feedback] = await _feedback(bot)
    assert (feedback["suggestion"], feedback["status"]) == ("Plus de caisses.", "complete")
    assert await redis_client.xlen(keys.FEEDBACK_STREAM) == 1


async def test_an_update_waits_while_another_process_holds_its_chat(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await redis_client.set(keys.chat_lock(CustomerId.telegram(customer.user.id)), "another-process", px=30_000)
    mark = len(emulator.calls)
    tap = asyncio.create_task(customer.tap("rate:4"))
    await asyncio.sleep(0.5)
    assert not tap.done() and emulator.calls[mark:] == [], "the update went ahead while its chat was held"
    await redis_client.delete(keys.chat_lock(CustomerId.telegram(customer.user.id)))
    turn = await asyncio.wait_for(tap, 10)
    assert "⭐⭐⭐⭐" in turn.text
    assert await redis_client.exists(keys.chat_lock(CustomerId.telegram(customer.user.id))) == 0


async def test_a_lock_left_by_a_killed_process_expires(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis
) -> None:
    customer = Customer.new(emulator)
    await redis_client.set(keys.chat_lock(CustomerId.telegram(customer.user.id)), "killed-process", px=400)
    turn = await asyncio.wait_for(customer.say(f"/start {venue.token}"), 10)
    assert venue.name in turn.text


async def test_a_chat_held_too_long_gets_503_and_the_update_comes_back(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(customer_chat, "LOCK_WAIT", 0.3)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await redis_client.set(keys.chat_lock(CustomerId.telegram(customer.user.id)), "stuck-process", px=60_000)
    refused = await emulator.send_text(customer.user, "3")
    assert refused.status == 503 and refused.calls == []
    assert emulator.pending_update_count == 1
    await redis_client.delete(keys.chat_lock(CustomerId.telegram(customer.user.id)))
    [delivered] = await emulator.redeliver_pending()
    assert delivered.status == 200 and emulator.pending_update_count == 0
    [feedback] = await _feedback(bot)
    assert feedback["rating"] == 3


async def test_two_updates_of_one_chat_at_once_are_handled_one_after_the_other(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue
) -> None:
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.tap("rate:2")
    first, second = "Le service était lent.", "Mettez plus de personnel."
    await asyncio.gather(customer.say(first), customer.say(second))
    [feedback] = await _feedback(bot)
    # Without the lock both would read the reason step and one answer would overwrite the other.
    assert {feedback["reason"], feedback["suggestion"]} == {first, second}
    assert feedback["status"] == "complete"


async def test_a_turn_is_written_all_or_nothing(
    bot: RunningBot, emulator: BotApiEmulator, venue: Venue, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[tuple[object, ...]]] = []
    real = bot.store._round_trip

    async def watched(commands: list[tuple[object, ...]]) -> list[object]:
        batches.append([tuple(command) for command in commands])
        return await real(commands)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.store, "_round_trip", watched)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.tap("rate:2")
    await customer.say("On a attendu 40 minutes.")
    await customer.say("passer")  # complete: the state, the feedback and its stream entry in one write
    writes = [batch for batch in batches if any(command[0] == "XADD" for command in batch)]
    assert len(writes) == 1
    [write] = writes
    assert write[0] == ("MULTI",) and write[-1] == ("EXEC",)
    assert {command[0] for command in write[1:-1]} >= {"SET", "HSET", "XADD", "ZREM", "EVALSHA"}
    assert await redis_client.xlen(keys.FEEDBACK_STREAM) == 1
