"""Telegram's errors: 429 waited out (by every process), 5xx, timeouts and 403 survived, nothing sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from telegram import Bot

from bot.botapi.http import AiohttpRequest
from bot.botapi.outbound import Limits, Outbound, Priority
from bot.botapi.sending import call_telegram
from bot.cli.serve import RunningBot
from bot.seam.outgoing import Delivered
from bot.storage.embedded import free_port
from bot.storage.venues import Venue
from emulator import BotApiEmulator, EmulatedUser
from tests.support import Customer


async def _venue(bot: RunningBot) -> Venue:
    await bot.store.add_brand("quick", "Quick")
    return await bot.store.add_venue("quick", "Quick Massy")


async def test_429_is_waited_out_and_the_message_sent_once(bot: RunningBot, emulator: BotApiEmulator) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    emulator.fail_next("sendMessage", status=429, retry_after=1)
    turn = await customer.say(f"/start {venue.token}")
    statuses = [c.status for c in turn.calls if c.method == "sendMessage"]
    assert statuses == [429, 200]
    assert turn.calls[1].at - turn.calls[0].at >= 0.9
    assert len(emulator.bot_messages(customer.user.id)) == 1


async def _rated(bot: RunningBot, emulator: BotApiEmulator) -> Customer:
    """A customer who scanned the venue and gave 3 stars: the bot asks why."""
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    await customer.say("3")
    return customer


@pytest.mark.parametrize("status", [500, 503])
async def test_a_send_telegram_did_not_execute_is_retried_and_sent_once(
    bot: RunningBot, emulator: BotApiEmulator, status: int
) -> None:
    customer = await _rated(bot, emulator)
    emulator.fail_next("sendMessage", status=status, times=2)
    turn = await customer.say("Correct, sans plus.")
    assert [c.status for c in turn.calls if c.method == "sendMessage"] == [status, status, 200]
    assert "Une idée ou une suggestion" in turn.text
    turn = await customer.say("Plus de caisses.")
    assert "Merci pour votre avis" in turn.text
    texts = [m.text for m in emulator.bot_messages(customer.user.id)]
    assert len(texts) == len(set(texts)) == 4, texts  # each message once: nothing sent twice
    [feedback] = [f async for f in bot.store.iter_feedback()]
    assert (feedback["reason"], feedback["suggestion"], feedback["status"]) == (
        "Correct, sans plus.",
        "Plus de caisses.",
        "complete",
    )


async def test_a_504_on_send_is_not_retried_since_it_may_have_gone_through(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    customer = await _rated(bot, emulator)
    emulator.fail_next("sendMessage", status=504)
    delivery = await emulator.send_text(customer.user, "Correct, sans plus.")
    assert delivery.status == 200
    assert [c.status for c in delivery.calls if c.method == "sendMessage"] == [504]
    turn = await customer.say("Plus de caisses.")
    assert "Merci pour votre avis" in turn.text


@pytest.mark.parametrize("status", [502, 504])
async def test_a_send_a_gateway_answered_after_it_ran_is_not_made_twice(
    bot: RunningBot, emulator: BotApiEmulator, status: int
) -> None:
    customer = await _rated(bot, emulator)
    emulator.fail_next("sendMessage", status=status, executed=True)
    delivery = await emulator.send_text(customer.user, "Correct, sans plus.")
    assert delivery.status == 200
    assert [c.status for c in delivery.calls if c.method == "sendMessage"] == [status]
    asked = [m.text for m in emulator.bot_messages(customer.user.id) if "Une idée ou une suggestion" in m.text]
    assert len(asked) == 1  # the customer reads the question once
    turn = await customer.say("Plus de caisses.")
    assert "Merci pour votre avis" in turn.text


async def test_an_edit_that_fails_with_5xx_is_retried(bot: RunningBot, emulator: BotApiEmulator) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    emulator.fail_next("editMessageText", status=502)
    turn = await customer.tap("rate:1")
    assert [c.status for c in turn.calls if c.method == "editMessageText"] == [502, 200]
    assert "Que s'est-il passé" in emulator.bot_messages(customer.user.id)[-1].text


async def test_a_customer_who_blocked_the_bot_does_not_break_anything(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    venue = await _venue(bot)
    customer = Customer.new(emulator)
    await customer.say(f"/start {venue.token}")
    # The customer blocks the bot right after sending their rating.
    emulator.fail_next("sendMessage", status=403, description="Forbidden: bot was blocked by the user")
    delivery = await emulator.send_text(customer.user, "2")
    assert delivery.status == 200
    assert [c.status for c in delivery.calls] == [403]
    [feedback] = [f async for f in bot.store.iter_feedback()]
    assert feedback["rating"] == 2  # stored even though the answer could not be delivered


# One process's Bot API client, as `bot.app` builds it, with short timeouts so that a slow Bot API shows.


@contextlib.asynccontextmanager
async def _client(base_url: str, token: str, **request: Any) -> AsyncIterator[Bot]:
    bot = Bot(token, base_url=base_url, request=AiohttpRequest(**request))
    await bot.initialize()
    try:
        yield bot
    finally:
        await bot.shutdown()


async def _customer_chat(emulator: BotApiEmulator) -> EmulatedUser:
    """A customer who wrote to the bot (nobody reads the update: the test makes the bot's calls itself)."""
    user = emulator.add_user("Camille", language_code="fr")
    await emulator.send_text(user, "/start")
    return user


async def _slow_call_done(emulator: BotApiEmulator, user: EmulatedUser, text: str) -> None:
    """Wait for the delayed call to be executed by the emulator, then a little more for any other."""
    for _ in range(500):
        if any(m.text == text for m in emulator.bot_messages(user.id)):
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)


async def test_a_send_that_timed_out_is_not_made_again_and_arrives_once(emulator: BotApiEmulator) -> None:
    user = await _customer_chat(emulator)
    async with _client(emulator.base_url, emulator.token, read_timeout=0.3, write_timeout=0.0) as bot:
        emulator.delay_next("sendMessage", 1.0)  # Telegram is slow: it executes the call after we gave up
        sent = await call_telegram(
            functools.partial(bot.send_message, user.id, "Merci !"), idempotent=False, what="thanks"
        )
        assert sent.outcome is Delivered.FAILED
        await _slow_call_done(emulator, user, "Merci !")
    assert [m.text for m in emulator.bot_messages(user.id)] == ["Merci !"]
    assert len(emulator.calls_to("sendMessage")) == 1


async def test_an_edit_that_timed_out_is_made_again(emulator: BotApiEmulator) -> None:
    user = await _customer_chat(emulator)
    async with _client(emulator.base_url, emulator.token, read_timeout=0.3, write_timeout=0.0) as bot:
        message = await bot.send_message(user.id, "Notez votre visite")
        emulator.delay_next("editMessageText", 1.0)
        edit = functools.partial(bot.edit_message_text, "Merci !", chat_id=user.id, message_id=message.message_id)
        sent = await call_telegram(edit, idempotent=True, what="edit")
        assert sent.ok
        for _ in range(500):  # the slow first call is answered too, in the end
            if len(emulator.calls_to("editMessageText")) == 2:
                break
            await asyncio.sleep(0.01)
    assert [m.text for m in emulator.bot_messages(user.id)] == ["Merci !"]
    assert [c.status for c in emulator.calls_to("editMessageText")] in ([200, 400], [400, 200])  # not modified


async def test_a_bot_api_that_cannot_be_reached_is_tried_again_then_given_up(
    emulator: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    user = await _customer_chat(emulator)
    unreachable = f"http://127.0.0.1:{free_port()}/bot"
    async with _client(emulator.base_url, emulator.token) as reachable:
        bot = Bot(emulator.token, base_url=unreachable, request=AiohttpRequest())
        bot._bot_user = reachable.bot  # initialised without getMe, which would fail the same way
        await bot.request.initialize()
        send = functools.partial(bot.send_message, user.id, "Merci !")
        sent = await call_telegram(send, idempotent=False, what="thanks")
        await bot.request.shutdown()
    assert sent.outcome is Delivered.FAILED
    assert caplog.text.count("thanks: not executed by Telegram") == 4
    assert emulator.bot_messages(user.id) == []


async def test_a_429_seen_by_one_process_holds_back_the_others(emulator: BotApiEmulator, redis_client: Redis) -> None:
    user = await _customer_chat(emulator)
    other = emulator.add_user("Dominique", language_code="fr")
    await emulator.send_text(other, "/start")
    first, second = Outbound(redis_client), Outbound(redis_client)
    async with (
        _client(emulator.base_url, emulator.token, outbound=first) as one,
        _client(emulator.base_url, emulator.token, outbound=second) as two,
    ):
        emulator.fail_next("sendMessage", status=429, retry_after=1)
        sending = asyncio.create_task(
            call_telegram(functools.partial(one.send_message, user.id, "Merci !"), idempotent=False, what="one")
        )
        while not emulator.calls_to("sendMessage"):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the first process has shared the 429
        sent = await call_telegram(
            functools.partial(two.send_message, other.id, "Bonjour"), idempotent=False, what="two"
        )
        assert sent.ok and (await sending).ok
    refused, *went = emulator.calls_to("sendMessage")
    assert refused.status == 429 and [c.status for c in went] == [200, 200]
    assert all(call.at - refused.at >= 0.85 for call in went)  # neither went before the second was up
    assert second.waited > 0.5
    assert [m.text for m in emulator.bot_messages(user.id)] == ["Merci !"]
    assert [m.text for m in emulator.bot_messages(other.id)] == ["Bonjour"]


async def test_a_burst_of_answers_and_cards_from_two_processes_keeps_the_bots_budget(
    emulator: BotApiEmulator, redis_client: Redis
) -> None:
    """The emulator counts the sends as they arrive: 15 answers from one process and 10 cards from another, all
    at once, on a budget of 10 a second, never exceed 10 in a second (Telegram would answer 429 past its own)."""
    users = [emulator.add_user(f"Client {n}", language_code="fr") for n in range(15)]
    for user in users:
        await emulator.send_text(user, "/start")  # they wrote to the bot (nobody reads it: the test sends)
    room = emulator.add_group("Quick — équipe", members=[users[0]])
    limits = Limits(per_second=10)
    async with (
        _client(emulator.base_url, emulator.token, outbound=Outbound(redis_client, limits)) as answers,
        _client(emulator.base_url, emulator.token, outbound=Outbound(redis_client, limits)) as staff,
    ):
        sends = [
            call_telegram(functools.partial(answers.send_message, user.id, "Merci !"), idempotent=False, what="answer")
            for user in users
        ] + [
            call_telegram(
                functools.partial(staff.send_message, room.id, f"Ticket n° {1001 + n}"),
                idempotent=False, what="card", priority=Priority.CARD,
            )
            for n in range(10)
        ]  # fmt: skip
        sent = await asyncio.gather(*sends)
    assert all(s.ok for s in sent)
    arrivals = sorted(call.at for call in emulator.calls_to("sendMessage"))
    assert len(arrivals) == 25 and {c.status for c in emulator.calls_to("sendMessage")} == {200}
    assert max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals) <= 10
    assert arrivals[-1] - arrivals[0] >= 1.8  # 25 messages: into the third second
