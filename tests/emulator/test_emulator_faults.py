"""Faults on demand: Telegram's errors and slow answers, as python-telegram-bot sees them."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from emulator import BotApiEmulator, EmulatorError


async def test_429_carries_retry_after(emulator: BotApiEmulator, tg: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) when it builds RetryAfter: an error under our filters.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    emulator.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as limited:
        await tg.send_message(user.id, "Merci")
    assert limited.value.retry_after == dt.timedelta(seconds=3)
    [call] = emulator.calls_to("sendMessage")
    assert call.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert emulator.bot_messages(user.id) == [], "a failed call is not executed"
    await tg.send_message(user.id, "Merci")
    assert [m.text for m in emulator.bot_messages(user.id)] == ["Merci"]


async def test_server_errors_and_chosen_descriptions(emulator: BotApiEmulator, tg: Bot) -> None:
    emulator.fail_next("getMe", status=500, times=2)
    emulator.fail_next("getChat", status=403, description="Forbidden: bot was kicked from the supergroup chat")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await tg.get_me()
    assert (await tg.get_me()).id == emulator.bot_id
    with pytest.raises(Forbidden, match="bot was kicked"):
        await tg.get_chat(1)
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.get_chat(1)


async def test_an_invalid_call_fails_validation_before_a_planned_fault(emulator: BotApiEmulator, tg: Bot) -> None:
    emulator.fail_next("sendMessage", status=502)
    with pytest.raises(BadRequest, match='Unknown parameter "colour"'):
        await tg.send_message(1, "x", api_kwargs={"colour": "red"})
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await tg.send_message(1, "x")


async def test_a_slow_answer_times_out_but_is_executed(emulator: BotApiEmulator) -> None:
    user = emulator.add_user("Camille")
    await emulator.send_text(user, "/start")
    bot = Bot(emulator.token, base_url=emulator.base_url, request=HTTPXRequest(read_timeout=0.2))
    async with bot:
        await bot.get_updates()
        emulator.delay_next("sendMessage", 0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "slow")
        await emulator.settle()
        assert [m.text for m in emulator.bot_messages(user.id)] == ["slow"]
        await bot.send_message(user.id, "fast")


def test_faults_name_real_methods(emulator: BotApiEmulator) -> None:
    with pytest.raises(EmulatorError, match="no method 'sendTelepathy'"):
        emulator.fail_next("sendTelepathy", status=500)
    with pytest.raises(EmulatorError, match="4xx or 5xx"):
        emulator.fail_next("sendMessage", status=200)
