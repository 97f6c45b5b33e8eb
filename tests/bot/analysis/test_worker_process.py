"""`parole worker` as a deployment runs it: its own process, beside `parole serve`, running the staff notifier
(and the analysis unless told otherwise). The bot process itself runs no notifier."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.storage.embedded import EmbeddedRedis
from emulator import BotApiEmulator
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer


def worker_env(settings: Settings, emulator: BotApiEmulator, tmp_path: Path) -> dict[str, str]:
    assert settings.redis_url is not None
    return {
        **os.environ,
        "PAROLE_REDIS_URL": settings.redis_url,
        "PAROLE_TELEGRAM_TOKEN": emulator.token,
        "PAROLE_TELEGRAM_API_URL": emulator.base_url,
        "PAROLE_BOT_USERNAME": emulator.bot_username,
        "PAROLE_DATA_DIR": str(tmp_path),
        "PAROLE_LOG_LEVEL": "WARNING",
    }


async def test_the_worker_process_posts_the_card_the_bot_process_does_not(
    scene: Scene, emulator: BotApiEmulator, settings: Settings, tmp_path: Path
) -> None:
    customer = Customer(emulator, emulator.add_user("Camille", language_code="fr"))
    await scene.feedback(customer, rating=1, reason="On a attendu 40 minutes.", notify=False)
    await asyncio.sleep(0.5)
    assert not any(str(FIRST_TICKET) in m.text for m in emulator.bot_messages(scene.room.id)), "the bot posted it"

    worker = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "worker", "--no-analysis", "--port", "0"),
        env=worker_env(settings, emulator, tmp_path),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(f"{FIRST_TICKET}" in m.text for m in emulator.bot_messages(scene.room.id)):
            assert worker.returncode is None, "the worker exited"
            assert time.monotonic() < deadline, "no card from the worker within 60 s"
            await asyncio.sleep(0.1)
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, stderr.decode()
    assert "On a attendu 40 minutes." in scene.card(FIRST_TICKET).text


async def test_worker_options_that_leave_nothing_to_run_are_refused(
    settings: Settings, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    env = worker_env(settings, emulator, tmp_path)
    cases = [
        (("--no-analysis", "--no-notifier"), env, "ne laissent rien à faire tourner"),
        (("--no-analysis",), {k: v for k, v in env.items() if k != "PAROLE_TELEGRAM_TOKEN"}, "PAROLE_TELEGRAM_TOKEN"),
        (("--batch", "0"), env, "--batch doit valoir au moins 1"),
        (("--claim-after", "-1"), env, "--claim-after doit être un nombre de secondes positif"),
    ]
    for args, environ, message in cases:
        done = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "worker", *args), env=environ, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(done.communicate(), 60)
        assert done.returncode == 1, (args, stderr.decode())
        assert message in stderr.decode() and "Traceback" not in stderr.decode(), stderr.decode()
    assert emulator.calls == [], "a refused worker talked to Telegram"


@pytest.mark.parametrize("part", ["--no-notifier", "--no-analysis"])
async def test_a_worker_stopped_after_redis_went_away_exits_cleanly(
    part: str, own_redis: EmbeddedRedis, settings: Settings, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    env = {**worker_env(settings, emulator, tmp_path), "PAROLE_REDIS_URL": own_redis.url, "PAROLE_LOG_LEVEL": "INFO"}
    command = (sys.executable, "-m", "bot", "worker", part, "--port", "0")
    worker = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
    try:
        assert worker.stderr is not None
        started = "reading parole:stream:feedback" if part == "--no-notifier" else "Redis persistence"
        seen = b""
        deadline = time.monotonic() + 90
        while started.encode() not in seen:
            assert time.monotonic() < deadline, seen.decode()
            seen += await asyncio.wait_for(worker.stderr.readline(), 90)
        own_redis.kill()
        await asyncio.sleep(2.5)  # a round or two against the missing Redis
    finally:
        worker.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(worker.communicate(), 60)
    stderr = (seen + rest).decode()
    assert worker.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "arrêtées" in stderr or "avis analysé" in stderr, stderr
