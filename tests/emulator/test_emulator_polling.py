"""Updates by long polling: offsets confirm, limits, the timeout, allowed_updates, conflicts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from emulator import BotApiEmulator, EmulatorError

ApiCaller = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


async def test_offset_confirms_and_limit_caps(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    deliveries = [await emulator.send_text(user, f"message {n}") for n in range(3)]
    assert [d.update_id for d in deliveries] == [1, 2, 3]
    assert all(d.status is None and d.calls == [] for d in deliveries), "polling mode: nothing delivered yet"
    first = await tg.get_updates(limit=2)
    assert [u.update_id for u in first] == [1, 2]
    assert [u.update_id for u in await tg.get_updates()] == [1, 2, 3], "nothing confirmed yet"
    assert (await tg.get_webhook_info()).pending_update_count == 3
    rest = await tg.get_updates(offset=3)
    assert [(u.update_id, u.message and u.message.text) for u in rest] == [(3, "message 2")]
    assert (await tg.get_webhook_info()).pending_update_count == 1
    assert await tg.get_updates(offset=4) == ()
    assert emulator.pending_update_count == 0


async def test_a_negative_offset_keeps_the_last_updates(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    for n in range(4):
        await emulator.send_text(user, f"m{n}")
    assert [u.update_id for u in await tg.get_updates(offset=-2)] == [3, 4]
    assert [u.update_id for u in await tg.get_updates()] == [3, 4]


async def test_long_polling_returns_as_soon_as_an_update_arrives(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    started = time.monotonic()
    waiting = asyncio.create_task(tg.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    await emulator.send_text(user, "hello")
    updates = await waiting
    assert [u.message.text for u in updates if u.message] == ["hello"]
    assert time.monotonic() - started < 1.5


async def test_long_polling_times_out_empty(emulator: BotApiEmulator, tg: Bot) -> None:
    started = time.monotonic()
    assert await tg.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2.5


async def test_a_newer_poller_ends_the_waiting_one(emulator: BotApiEmulator, tg: Bot, api: ApiCaller) -> None:
    first = asyncio.create_task(tg.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert await api("getUpdates") == (200, {"ok": True, "result": []})
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first


async def test_allowed_updates_filter_new_updates(emulator: BotApiEmulator, tg: Bot) -> None:
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    assert len(await tg.get_updates(allowed_updates=["callback_query"])) == 1
    await tg.send_message(
        user.id, "?", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ok")]])
    )
    await emulator.send_text(user, "ignored")
    await emulator.click(user, emulator.bot_messages(user.id)[-1], "ok")
    updates = await tg.get_updates(offset=2)
    assert [u.callback_query.data for u in updates if u.callback_query] == ["ok"] and len(updates) == 1
    assert (await tg.get_webhook_info()).allowed_updates == ("callback_query",)


async def test_get_updates_conflicts_with_a_webhook(emulator: BotApiEmulator, tg: Bot) -> None:
    assert await tg.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await tg.get_updates()
    assert await tg.delete_webhook()
    assert await tg.get_updates() == ()


async def test_an_application_polling_settles(emulator: BotApiEmulator) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_text(update.effective_message.text.upper())

    application = Application.builder().token(emulator.token).base_url(emulator.base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    user = emulator.add_user("Camille")
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await emulator.send_text(user, "bonjour")
        await emulator.send_text(user, "merci")
        await emulator.settle()
        assert [m.text for m in emulator.bot_messages(user.id)] == ["BONJOUR", "MERCI"]
        await application.updater.stop()
        await application.stop()


async def test_settle_times_out_while_nobody_polls(emulator: BotApiEmulator) -> None:
    await emulator.send_text(emulator.add_user("Camille"), "hello?")
    with pytest.raises(TimeoutError, match="1 update"):
        await emulator.settle(timeout=0.3)


async def test_a_message_written_now_is_delivered_later_with_its_date() -> None:
    """As a message waits in Telegram's queue: written (and dated) now, its update delivered later."""
    now = [1_700_000_000.0]
    async with BotApiEmulator(clock=lambda: now[0]) as later:
        user = later.add_user("Camille")
        update = later.write_text(user, "écrit avant")
        assert later.pending_update_count == 0  # written, not yet delivered
        now[0] += 90
        delivery = await later.deliver_raw(update)
        assert delivery.update_id == 1
        later_tg = Bot(later.token, base_url=later.base_url)
        async with later_tg:
            [received] = await later_tg.get_updates()
        assert received.message is not None and received.message.text == "écrit avant"
        assert received.message.date.timestamp() == 1_700_000_000
        with pytest.raises(EmulatorError, match="empty"):
            later.write_text(user, " ")
