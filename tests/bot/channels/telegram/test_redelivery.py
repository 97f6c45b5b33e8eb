"""A redelivered update (Telegram did not get our 200, or a second process got it too) acts and answers once.

Each update here was answered 200 the first time; Telegram delivering it again must change nothing and
send nothing: not a second template version, not a second answer to /vocab, /tickets, /link, /help or
/mydata, not the journey's answer again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.channels.telegram.dispatch import ChatLanes
from bot.cli.serve import RunningBot, running_bot
from bot.config import Settings
from bot.editing.overrides import Document, OverrideStore, Scope, template_document
from bot.storage import keys
from bot.storage.handled import ASK_AGAIN_SECONDS, telegram_update
from emulator import BotApiEmulator, EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Clock, Customer

HELP = "Je recueille votre avis"  # the help's first words


async def _again(scene: Scene, user: EmulatedUser, text: str, *, private: bool = False) -> list[str]:
    """Say `text`, then have Telegram deliver that same update again; the methods of what the redelivery
    made the bot call."""
    first = await scene.emulator.send_text(user, text, chat=None if private else scene.room)
    assert first.status == 200 and first.calls, f"{text!r} was not answered the first time"
    mark = scene.mark()
    again = await scene.emulator.deliver_raw(first.update)
    assert again.status == 200
    return [call.method for call in scene.since(mark).calls]


async def test_a_template_saved_again_on_redelivery_keeps_one_version(scene: Scene, operator: EmulatedUser) -> None:
    assert await _again(scene, operator, "/template set help fr 0\nAide : répondez aux questions.", private=True) == []
    history = await OverrideStore(scene.bot.store.redis).history(Document(Scope(), template_document("help", "fr")))
    assert [version.number for version in history] == [1]


async def test_staff_commands_answer_once(scene: Scene) -> None:
    await Customer.new(scene.emulator).say(f"/start {scene.massy.token}")
    assert await _again(scene, scene.maria, "/vocab add PER Julien") == []
    assert await _again(scene, scene.julien, "/vocab list") == []
    assert await _again(scene, scene.julien, "/tickets") == []
    group = scene.emulator.add_group("Quick Orly — équipe", members=[scene.julien], admins=[scene.maria])
    first = await scene.emulator.send_text(
        scene.maria, f"/link {await scene.invite('quick', scene.orly.code)}", chat=group
    )
    again = await scene.emulator.deliver_raw(first.update)
    assert again.status == 200 and again.calls == []


async def test_customer_commands_answer_once(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await scene.feedback(customer)
    assert await _again(scene, customer.user, "/mydata", private=True) == []  # the file is not sent twice
    assert await _again(scene, customer.user, "/help", private=True) == []
    assert await _again(scene, customer.user, "/stopnews", private=True) == []


async def test_a_journey_answer_is_not_sent_again_after_a_200(scene: Scene) -> None:
    customer = Customer.new(scene.emulator)
    await customer.say(f"/start {scene.massy.token}")
    assert await _again(scene, customer.user, "Bonjour", private=True) == []


async def _post(emulator: BotApiEmulator, update: dict[str, object]) -> tuple[int, str | None]:
    """POST the update to the bot's webhook as Telegram does; the status and the `Retry-After` header."""
    assert emulator.webhook_url is not None and emulator.webhook_secret is not None
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": emulator.webhook_secret}
    async with (
        aiohttp.ClientSession() as session,
        session.post(emulator.webhook_url, data=json.dumps(update), headers=headers) as response,
    ):
        return response.status, response.headers.get("Retry-After")


async def test_an_update_in_hand_elsewhere_is_refused_for_now_then_handled_once(scene: Scene) -> None:
    """Another process claimed the update and is still at it: the webhook answers 503 at once (Telegram
    delivers it again, after `Retry-After`), rather than wait for that claim with the chat's lane held."""
    customer = Customer.new(scene.emulator)
    await customer.say(f"/start {scene.massy.token}")
    redis = scene.bot.store.redis
    update = {"update_id": 9_000, **scene.emulator.write_text(customer.user, "/stopnews")}
    key = keys.handled_update("telegram-chat", 9_000)  # a customer's side command: the conversation core claims it
    await redis.set(key, "claim", ex=120)  # another process has it in hand
    mark, started = scene.mark(), time.monotonic()
    assert await _post(scene.emulator, update) == (503, str(int(ASK_AGAIN_SECONDS)))
    assert time.monotonic() - started < ASK_AGAIN_SECONDS  # not waited for
    assert scene.since(mark).calls == []  # nothing done, nothing answered
    lanes = scene.bot.application.update_processor
    assert isinstance(lanes, ChatLanes) and lanes.lanes.busy(customer.user.id) == 0
    assert HELP in (await customer.say("/help")).text  # the chat goes on meanwhile
    await redis.delete(key)  # the other process died: its claim is gone (expired)
    again = await scene.emulator.deliver_raw(update)
    assert again.status == 200 and [call.method for call in again.calls] == ["sendMessage"]
    assert await scene.emulator.deliver_raw(update) and scene.since(scene.mark()).calls == []


async def test_a_staff_command_in_hand_elsewhere_is_refused_for_now_and_done_there(scene: Scene) -> None:
    update = {"update_id": 9_100, **scene.emulator.write_text(scene.julien, "/tickets", chat=scene.room)}
    key = telegram_update(9_100)  # a group's update: claimed before any handler
    await scene.bot.store.redis.set(key, "claim", ex=2)
    status, retry_after = await _post(scene.emulator, update)
    assert status == 503 and retry_after == "2"  # asked again when the claim expires at the latest
    await scene.bot.store.redis.set(key, "done", ex=60)  # the other process finished it
    mark = scene.mark()
    assert await _post(scene.emulator, update) == (200, None)
    assert scene.since(mark).calls == []


@pytest.fixture
async def polling_bot(settings: Settings, clock: Clock) -> AsyncIterator[RunningBot]:
    settings = dataclasses.replace(settings, webhook_url=None, webhook_secret=None)
    async with running_bot(settings, listen=None, clock=clock) as running:
        yield running


async def test_by_long_polling_an_update_in_hand_elsewhere_is_parked(
    polling_bot: RunningBot, emulator: BotApiEmulator
) -> None:
    """Long polling has no Telegram to deliver it again: the update waits aside, not in its chat's lane."""
    customer = Customer.new(emulator)
    await polling_bot.store.redis.set(telegram_update(9_200), "claim", px=1_500)  # in hand elsewhere, 1.5 s more
    await emulator.deliver_raw({"update_id": 9_200, **emulator.write_text(customer.user, "/help")})
    await emulator.send_text(customer.user, "/help")  # the chat's next update is not held behind it
    deadline = time.monotonic() + 1.2

    def helps() -> int:
        return sum(HELP in m.text for m in emulator.bot_messages(customer.user.id))

    while helps() == 0:
        assert time.monotonic() < deadline, "the chat's next update waited for the parked one"
        await asyncio.sleep(0.01)
    assert helps() == 1
    deadline = time.monotonic() + 10
    while helps() < 2:  # the claim expires: the parked update is handled
        assert time.monotonic() < deadline, "the parked update was never handled"
        await asyncio.sleep(0.05)
    await emulator.settle(quiet=0.5)
    assert helps() == 2
