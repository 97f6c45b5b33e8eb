"""`/healthz` and `/metrics` of `parole worker`, a real process on its own port (the web admin's are tested
in `tests/bot/web/test_web_health.py`)."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import aiohttp

from bot.config import Settings
from bot.storage.embedded import free_port
from emulator import BotApiEmulator
from tests.bot.analysis.test_worker_process import worker_env
from tests.bot.staff_scene import FIRST_TICKET, Scene
from tests.support import Customer


async def _get(session: aiohttp.ClientSession, url: str, deadline: float) -> tuple[int, str]:
    """GET `url`, retrying while nothing listens yet."""
    while True:
        try:
            async with session.get(url) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectionError:
            assert time.monotonic() < deadline, f"nothing answered at {url}"
            await asyncio.sleep(0.1)


async def test_the_worker_serves_healthz_and_metrics_on_its_own_port(
    scene: Scene, emulator: BotApiEmulator, settings: Settings, tmp_path: Path
) -> None:
    customer = Customer(emulator, emulator.add_user("Camille", language_code="fr"))
    await scene.feedback(customer, rating=1, reason="On a attendu 40 minutes.", notify=False)
    port = free_port()
    env = worker_env(settings, emulator, tmp_path)
    command = (sys.executable, "-m", "bot", "worker", "--no-analysis", "--port", str(port))
    worker = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not any(f"{FIRST_TICKET}" in m.text for m in emulator.bot_messages(scene.room.id)):
            assert worker.returncode is None, "the worker exited"
            assert time.monotonic() < deadline, "no card from the worker within 60 s"
            await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session:
            status, body = await _get(session, f"http://127.0.0.1:{port}/healthz", deadline)
            assert status == 200, body
            health = await (await session.get(f"http://127.0.0.1:{port}/healthz")).json()
            assert health["ok"] is True and health["process"] == "worker" and health["redis"] == "up"
            assert health["stream"]["notify"] == {"lag": 0, "pending": 0}, health
            status, exposition = await _get(session, f"http://127.0.0.1:{port}/metrics", deadline)
        assert status == 200
        assert 'parole_open_tickets{brand="quick"} 1.0' in exposition, exposition
        assert 'parole_stream_lag{group="notify"} 0.0' in exposition, exposition

        # A second worker on the same port stops at start and says why.
        second = await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
        _, stderr = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 1, stderr.decode()
        assert f"cannot listen on 127.0.0.1:{port} for /healthz and /metrics" in stderr.decode(), stderr.decode()
        assert "Traceback" not in stderr.decode()
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
    assert worker.returncode == 0, stderr.decode()


async def test_a_worker_port_out_of_range_is_refused(
    settings: Settings, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    env = worker_env(settings, emulator, tmp_path)
    done = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "worker", "--no-analysis", "--port", "70000"), env=env,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 1
    assert (
        "--port doit être entre 1 et 65535 (ou 0 pour se passer de /healthz et /metrics), pas 70000" in stderr.decode()
    ), stderr.decode()
    assert emulator.calls == [], "a refused worker talked to Telegram"
