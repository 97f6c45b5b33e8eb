"""The test-facing emulator: ids, what users send and click, raw updates, several emulators, the CLI."""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update

from emulator import BotApiEmulator, EmulatorError, MessageKind

KINDS = [kind.value for kind in MessageKind if kind is not MessageKind.TEXT]


async def test_ids_are_deterministic_and_emulators_independent() -> None:
    async with (
        BotApiEmulator() as first,
        BotApiEmulator(token="987654:OTHER_token-2", bot_username="b2") as second,
    ):
        assert [first.add_user(n).id for n in ("A", "B")] == [1001, 1002]
        assert second.add_user("C").id == 1001
        assert first.add_group("G1").id == -1001000000001
        assert first.add_group("G2", supergroup=False).id == -1001000000002
        assert (second.bot_id, second.bot_username) == (987654, "b2")
        assert first.url != second.url and first.base_url == f"{first.url}/bot"
        delivery = await first.send_text(first.user(1001), "hi")
        assert delivery.update_id == 1 and second.pending_update_count == 0


async def test_message_dates_follow_the_given_clock() -> None:
    async with BotApiEmulator(clock=lambda: 1_700_000_000.5) as emulator:
        delivery = await emulator.send_text(emulator.add_user("Camille"), "hi")
        assert delivery.update["message"]["date"] == 1_700_000_000


def test_a_token_must_look_like_a_token() -> None:
    with pytest.raises(EmulatorError, match="bot token"):
        BotApiEmulator(token="not-a-token")


@pytest.mark.parametrize("kind", KINDS)
async def test_every_kind_of_media_is_a_valid_update(emulator: BotApiEmulator, tg: Bot, kind: str) -> None:
    user = emulator.add_user("Camille")
    delivery = await emulator.send_media(user, kind)
    emulator.spec.check_value("Update", delivery.update)
    message = Update.de_json(delivery.update, tg).message
    assert message is not None and getattr(message, kind) is not None
    assert emulator.chat_messages(user.id)[-1].kind == kind


async def test_captions_and_locations(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    photo = await emulator.send_media(user, "photo", caption="la file d'attente")
    assert photo.update["message"]["caption"] == "la file d'attente"
    assert emulator.chat_messages(user.id)[-1].text == "la file d'attente"
    with pytest.raises(EmulatorError, match="no caption"):
        await emulator.send_media(user, "sticker", caption="x")
    with pytest.raises(EmulatorError, match="unknown message kind"):
        await emulator.send_media(user, "hologram")
    where = await emulator.send_location(user, 48.7253, 2.2606)
    message = Update.de_json(where.update, tg).message
    assert message is not None and message.location is not None
    assert (message.location.latitude, message.location.longitude) == (48.7253, 2.2606)


async def test_commands_get_their_entity(emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Camille")
    plain = await emulator.send_text(user, "hello /start")
    assert "entities" not in plain.update["message"]
    addressed = await emulator.send_text(user, f"/start@{emulator.bot_username} abc")
    entity = {"type": "bot_command", "offset": 0, "length": len(f"/start@{emulator.bot_username}")}
    assert addressed.update["message"]["entities"] == [entity]


async def test_group_messages_and_replies(emulator: BotApiEmulator, tg: Bot) -> None:
    member, outsider = emulator.add_user("Member"), emulator.add_user("Outsider")
    staff = emulator.add_group("Staff", members=[member], forum=True)
    notice = await tg.send_message(staff.id, "Nouvel avis ★★")
    replied = emulator.chat_messages(staff.id)[-1]
    delivery = await emulator.send_text(member, "je m'en occupe", chat=staff, reply_to=replied)
    message = delivery.update["message"]
    assert message["chat"] == {"id": staff.id, "type": "supergroup", "title": "Staff", "is_forum": True}
    assert message["reply_to_message"]["message_id"] == notice.message_id
    with pytest.raises(EmulatorError, match="not a member"):
        await emulator.send_text(outsider, "hi", chat=staff)
    with pytest.raises(EmulatorError, match="not in chat"):
        await emulator.send_text(member, "hi", reply_to=replied)


async def test_click_needs_a_button_of_the_current_keyboard(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Oui", callback_data="yes")]])
    sent = await tg.send_message(user.id, "D'accord ?", reply_markup=keyboard)
    message = emulator.bot_messages(user.id)[-1]
    with pytest.raises(EmulatorError, match="no button with callback_data 'no'"):
        await emulator.click(user, message, "no")
    clicked = await emulator.click(user, message, "yes")
    query = clicked.update["callback_query"]
    assert (query["data"], query["from"]["id"], query["message"]["message_id"]) == (
        "yes",
        user.id,
        sent.message_id,
    )
    await tg.edit_message_text("Merci", chat_id=user.id, message_id=sent.message_id)
    with pytest.raises(EmulatorError, match="no button"):
        await emulator.click(user, message, "yes")
    await tg.delete_message(user.id, sent.message_id)
    with pytest.raises(EmulatorError, match="deleted"):
        await emulator.click(user, message, "yes")


async def test_raw_updates_and_blocked_users(emulator: BotApiEmulator, tg: Bot) -> None:
    numbered = await emulator.deliver_raw({"message": {"text": "no chat, no date"}})
    assert numbered.update == {"update_id": 1, "message": {"text": "no chat, no date"}}
    chosen = await emulator.deliver_raw({"update_id": 50, "poll": {}})
    assert chosen.update_id == 50
    assert (await emulator.send_text(emulator.add_user("A"), "next")).update_id == 51
    broken = await emulator.deliver_raw({"update_id": "fifty-two"})
    assert broken.update == {"update_id": "fifty-two"} and broken.update_id == 52
    user = emulator.add_user("Camille")
    emulator.block_bot(user)
    with pytest.raises(EmulatorError, match="blocked the bot"):
        await emulator.send_text(user, "hi")


async def test_running_it_standalone_prints_url_and_token() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "emulator", "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        lines = [(await asyncio.wait_for(process.stdout.readline(), 10)).decode() for _ in range(3)]
        base_url = lines[1].split()[-1]
        assert lines[2].split()[-1] == "123456:TEST-TOKEN-parole"
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{base_url}123456:TEST-TOKEN-parole/getMe") as r,
        ):
            assert (await r.json())["result"]["username"] == "parole_test_bot"
    finally:
        process.terminate()
        await process.wait()
