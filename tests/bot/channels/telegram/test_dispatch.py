"""Per-chat lanes in the running bot: a chat that floods it holds no one else, by long polling or webhook.

Telegram's outbound pace is the real one (one message a second per private chat after a burst of 5, 20 a
minute per group), so a flood's answers take seconds to go out; the tests assert what comes before what,
never how long it took.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.lanes import WAITING_PER_CHAT
from bot.channels.telegram.dispatch import ChatLanes
from bot.cli.serve import RunningBot, running_bot
from bot.config import Settings
from emulator import BotApiEmulator
from emulator.records import ApiCall, EmulatedChat, EmulatedUser
from tests.support import Clock

FLOOD = 30
SLOW_DOWN = "ralentissez"
IDLE = "Pour donner votre avis"


@pytest.fixture
async def polling_bot(settings: Settings, clock: Clock) -> AsyncIterator[RunningBot]:
    settings = dataclasses.replace(settings, webhook_url=None, webhook_secret=None)
    async with running_bot(settings, listen=None, clock=clock) as running:
        yield running


def lanes_of(bot: RunningBot) -> ChatLanes:
    processor = bot.application.update_processor
    assert isinstance(processor, ChatLanes)
    return processor


def answers_to(emulator: BotApiEmulator, chat_id: int) -> list[tuple[int, ApiCall]]:
    """The bot's sendMessage calls to a chat, with their place among every call."""
    return [
        (i, call)
        for i, call in enumerate(emulator.calls)
        if call.method == "sendMessage" and str(call.params.get("chat_id")) == str(chat_id)
    ]


async def first_answer(emulator: BotApiEmulator, chat_id: int, timeout: float = 10.0) -> int:
    """The place among every call of the first message the bot sent to the chat (waits for it)."""
    deadline = time.monotonic() + timeout
    while not answers_to(emulator, chat_id):
        assert time.monotonic() < deadline, f"chat {chat_id} got no answer"
        await asyncio.sleep(0.005)
    return answers_to(emulator, chat_id)[0][0]


def text_of(call: ApiCall) -> str:
    return str(call.params.get("text", ""))


async def flood(emulator: BotApiEmulator, flooder: EmulatedUser, *, chat: EmulatedChat | None = None) -> None:
    """FLOOD messages at once (in webhook mode, as many requests at once)."""
    text = "/tickets" if chat is not None else "encore"
    await asyncio.gather(
        *(emulator.send_text(flooder, f"{text} {i}" if chat is None else text, chat=chat) for i in range(FLOOD))
    )


async def check_flood_does_not_hold_another_customer(bot: RunningBot, emulator: BotApiEmulator) -> None:
    await bot.store.add_brand("quick", "Quick")
    venue = await bot.store.add_venue("quick", "Quick Massy")
    flooder, calm = emulator.add_user("Flood"), emulator.add_user("Camille")
    flooding = asyncio.create_task(flood(emulator, flooder))
    await asyncio.sleep(0.05)  # the flood is in
    await emulator.send_text(calm, f"/start {venue.token}")
    greeted = await first_answer(emulator, calm.id)
    await flooding
    await emulator.settle(quiet=1.5, timeout=60)
    answered_flood = [i for i, call in answers_to(emulator, flooder.id) if IDLE in text_of(call)]
    assert greeted < answered_flood[-1]  # the other customer did not wait for the flood's answers
    # The flood: as many answers as updates accepted, one slow-down for all the refused ones.
    to_flooder = [text_of(call) for _, call in answers_to(emulator, flooder.id)]
    refused = lanes_of(bot).refused
    assert refused >= 1
    assert sum(SLOW_DOWN in text for text in to_flooder) == 1
    assert sum(IDLE in text for text in to_flooder) == FLOOD - refused
    # The other customer goes on to the end: nothing lost.
    await emulator.click(calm, emulator.bot_messages(calm.id)[-1], "rate:5")
    for text in ("Très bon accueil.", "Rien à changer !"):
        await emulator.send_text(calm, text)
    await emulator.settle(quiet=0.3)
    [feedback] = [f async for f in bot.store.iter_feedback()]
    assert (feedback["rating"], feedback["status"], feedback["suggestion"]) == (5, "complete", "Rien à changer !")


async def test_by_long_polling_a_flood_holds_no_other_customer(
    polling_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    await check_flood_does_not_hold_another_customer(polling_bot, emulator)
    # Long polling hands the whole flood over at once: the lane keeps the one in hand and WAITING_PER_CHAT.
    assert lanes_of(polling_bot).refused == FLOOD - 1 - WAITING_PER_CHAT


async def test_by_webhook_a_flood_holds_no_other_customer(
    bot: RunningBot, emulator: BotApiEmulator, settings: Settings
) -> None:
    await check_flood_does_not_hold_another_customer(bot, emulator)
    assert settings.webhook_url is not None
    metrics_url = settings.webhook_url.replace("/telegram/hook", "/metrics")
    async with aiohttp.ClientSession() as session, session.get(metrics_url) as response:
        exposition = await response.text()
    assert f'parole_updates_total{{outcome="refused"}} {float(lanes_of(bot).refused)}' in exposition


async def test_a_flood_of_commands_in_a_group_holds_no_customer(
    polling_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    await polling_bot.store.add_brand("quick", "Quick")
    venue = await polling_bot.store.add_venue("quick", "Quick Massy")
    flooder, calm = emulator.add_user("Flood"), emulator.add_user("Camille")
    group = emulator.add_group("Not a staff room", members=[flooder])
    await flood(emulator, flooder, chat=group)  # in a group, 20 messages a minute: a third must wait a minute
    await emulator.send_text(calm, f"/start {venue.token}")
    await first_answer(emulator, calm.id)  # not after the minute the group's 21st message would wait
    assert lanes_of(polling_bot).refused == FLOOD - 1 - WAITING_PER_CHAT
    await emulator.settle(quiet=0.5)
    texts = [text_of(call) for _, call in answers_to(emulator, group.id)]
    assert sum(SLOW_DOWN in text for text in texts) == 1
    assert len(texts) == 1 + WAITING_PER_CHAT + 1  # each accepted command answered, and one slow-down


async def test_by_long_polling_a_chat_s_updates_keep_their_order(
    polling_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    """Scans of ten venues in a row, sent before any answer: greeted in the order they were sent."""
    await polling_bot.store.add_brand("quick", "Quick")
    venues = [await polling_bot.store.add_venue("quick", f"Quick {n}") for n in range(WAITING_PER_CHAT)]
    customer = emulator.add_user("Camille")
    for venue in venues:
        await emulator.send_text(customer, f"/start {venue.token}")  # by long polling: queued, not awaited
    await emulator.settle(quiet=1.5, timeout=60)
    greeted = [next(v.name for v in venues if v.name in m.text) for m in emulator.bot_messages(customer.id)]
    assert greeted == [venue.name for venue in venues]
    assert lanes_of(polling_bot).refused == 0


async def test_by_webhook_a_flood_sent_one_at_a_time_is_refused_by_its_dates(
    bot: RunningBot, emulator: BotApiEmulator
) -> None:
    """Telegram posts a chat's updates one at a time, the next once the bot answered: a flood never waits in
    the lane, so its messages' dates tell the backlog. Those sent while more than the bound were still to be
    handled are refused at once, and the chat told once."""
    lanes = lanes_of(bot)
    lanes.lanes.waiting = 2  # a short flood is enough (the chats' records are made with it)
    flooder = emulator.add_user("Flood")
    written = [emulator.write_text(flooder, f"encore {i}") for i in range(12)]
    statuses = []
    for update in written:  # as Telegram: the next once the previous was answered
        statuses.append((await emulator.deliver_raw(update)).status)
    assert statuses == [200] * len(written)  # a refused update is not delivered again
    deadline = time.monotonic() + 10  # the slow-down waits for the chat's pace, without holding the refusal
    while not any(SLOW_DOWN in text_of(call) for _, call in answers_to(emulator, flooder.id)):
        assert time.monotonic() < deadline, "the flood was not told to slow down"
        await asyncio.sleep(0.01)
    to_flooder = [text_of(call) for _, call in answers_to(emulator, flooder.id)]
    assert lanes.refused >= 1 and lanes.lanes.busy(flooder.id) == 0
    assert sum(SLOW_DOWN in text for text in to_flooder) == 1
    assert sum(IDLE in text for text in to_flooder) == len(written) - lanes.refused
    assert IDLE not in to_flooder[-1]  # the last ones were refused
    # Written now, the chat's next message is answered: the bound is on the backlog, not on the chat.
    await emulator.send_text(flooder, "et maintenant ?")
    assert IDLE in text_of(answers_to(emulator, flooder.id)[-1][1])
