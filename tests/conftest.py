"""Fixtures shared by every test: a real redis-server, the Bot API emulator, the running bot."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Secret, Settings
from bot.storage.embedded import EmbeddedRedis, free_port
from emulator import BotApiEmulator
from tests.support import Clock

os.environ.setdefault("PTB_TIMEDELTA", "true")  # python-telegram-bot 22: retry_after as a timedelta, no warning


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """The root logger as it was before the test: a command run in-process (`parole …`'s `main`) sets its own
    handler on the test's captured standard error, which is closed once the test ends; a later log line there
    (another test's server thread) would fail with "I/O operation on closed file"."""
    root = logging.getLogger()
    before, level = [h for h in root.handlers if not _from_pytest(h)], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in before and not _from_pytest(handler):
            root.removeHandler(handler)
    for handler in before:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def _from_pytest(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server the tests start themselves (or PAROLE_TEST_REDIS_URL)."""
    url = os.environ.get("PAROLE_TEST_REDIS_URL")
    if url:
        yield url
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port(), appendonly=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The test Redis, emptied before each test."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    client.close()
    return redis_server_url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emu:
        yield emu


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(redis_url: str, emulator: BotApiEmulator, tmp_path: Path) -> Settings:
    port = free_port()
    return Settings(
        telegram_token=Secret(emulator.token),
        telegram_api_url=emulator.base_url,
        redis_url=redis_url,
        data_dir=tmp_path / "var",
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_secret=Secret("test-secret"),
        bot_username=emulator.bot_username,
    )


@pytest.fixture
async def bot(settings: Settings, clock: Clock) -> AsyncIterator[RunningBot]:
    """The whole bot in webhook mode, registered with the emulator."""
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(settings, listen=Listen("127.0.0.1", port), clock=clock) as running:
        yield running


def with_settings(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
