"""Fixtures of the emulator's tests: an emulator whose every answer is checked against the Bot API spec,
python-telegram-bot's real `Bot` talking to it over HTTP, and a plain aiohttp client."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from emulator import BotApiEmulator


def assert_answers_follow_spec(emulator: BotApiEmulator) -> None:
    """Every successful answer the emulator gave is a valid object of the type its method returns."""
    for call in emulator.calls:
        method = emulator.spec.method(call.method)
        if call.status == 200 and method is not None:
            emulator.spec.check_value(method.returns, call.response["result"], f"{call.method} result")


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emu:
        yield emu
        assert_answers_follow_spec(emu)


# httpx builds an SSL context per client (~50 ms), useless against http://127.0.0.1: share one.
_TLS = ssl.create_default_context()


def ptb_request(**kwargs: Any) -> HTTPXRequest:
    return HTTPXRequest(httpx_kwargs={"verify": _TLS}, **kwargs)


@pytest.fixture
async def tg(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    """python-telegram-bot's Bot, pointed at the emulator."""
    bot = Bot(emulator.token, base_url=emulator.base_url, request=ptb_request(), get_updates_request=ptb_request())
    await bot.initialize()
    yield bot
    await bot.shutdown()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


ApiCaller = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
def api(emulator: BotApiEmulator, http: aiohttp.ClientSession) -> ApiCaller:
    """A raw JSON Bot API call: `status, body = await api("sendMessage", chat_id=1, text="hi")`."""

    async def call(method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        async with http.post(f"{emulator.base_url}{emulator.token}/{method}", json=params) as response:
            body: dict[str, Any] = await response.json()
            return response.status, body

    return call
