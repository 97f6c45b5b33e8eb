"""Fixtures of the bot tests: a redis-server of the test's own; the staff side: a bot without a notifier
loop (the tests run its rounds), an operator, and a scene with a brand, its venues and its linked staff room."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.serve import Listen, RunningBot, running_bot
from bot.config import Settings
from bot.storage.embedded import EmbeddedRedis, free_port
from emulator import BotApiEmulator, EmulatedUser
from tests.bot.staff_scene import Scene
from tests.support import Clock


@pytest.fixture
def operator(emulator: BotApiEmulator) -> EmulatedUser:
    """Olga, an operator of the deployment (in PAROLE_ADMIN_IDS)."""
    return emulator.add_user("Olga")


@pytest.fixture
async def staff_bot(settings: Settings, clock: Clock, operator: EmulatedUser) -> AsyncIterator[RunningBot]:
    """The whole bot in webhook mode; cards go out at the first notifier round (no wait for the analysis)."""
    settings = dataclasses.replace(settings, admin_ids=frozenset({operator.id}))
    assert settings.webhook_url is not None
    port = int(settings.webhook_url.split(":")[2].split("/")[0])
    async with running_bot(
        settings, listen=Listen("127.0.0.1", port), clock=clock, notify_every=None, analysis_wait=0.0
    ) as running:
        yield running


@pytest.fixture
async def scene(staff_bot: RunningBot, emulator: BotApiEmulator, clock: Clock) -> Scene:
    return await Scene.build(staff_bot, emulator, clock)


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A redis-server of the test's own (append-only file on, as deployed), for tests that stop or kill it."""
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    yield server
    server.stop()
