"""The durability check at start, against real redis-servers started with good and bad settings."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.cli.serve import running_bot
from bot.config import Settings
from bot.storage.durability import warn_about_durability
from bot.storage.embedded import EmbeddedRedis, free_port
from emulator import BotApiEmulator
from tests.bot.analysis.test_worker_process import worker_env
from tests.conftest import with_settings


@asynccontextmanager
async def redis_with(directory: Path, *options: str, appendonly: bool = True) -> AsyncIterator[str]:
    """The URL of a redis-server of its own, started with parole's embedded settings changed by `options`."""
    server = EmbeddedRedis(directory, port=free_port(), appendonly=appendonly, options=options)
    await asyncio.to_thread(server.start)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


async def problems_with(tmp_path: Path, *options: str, appendonly: bool = True) -> list[str]:
    async with redis_with(tmp_path / "redis", *options, appendonly=appendonly) as url:
        client: Redis = Redis.from_url(url, decode_responses=True)
        try:
            return await warn_about_durability(client)
        finally:
            await client.aclose()


async def test_the_embedded_settings_raise_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.storage.durability")
    assert await problems_with(tmp_path) == []
    assert "appendonly yes, appendfsync everysec (or always), maxmemory-policy noeviction" in caplog.text
    # A memory limit is fine as long as Redis refuses writes instead of evicting; so is fsync always.
    assert await problems_with(tmp_path, "--maxmemory", "100mb", "--appendfsync", "always") == []


async def test_a_redis_that_would_evict_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    [problem] = await problems_with(tmp_path, "--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru")
    assert "would evict keys" in problem and "allkeys-lru" in problem and "10485760 bytes" in problem
    assert "set maxmemory-policy noeviction" in problem
    assert [r.levelname for r in caplog.records if r.name == "bot.storage.durability"] == ["WARNING"]
    # An eviction policy without a memory limit never evicts.
    assert await problems_with(tmp_path, "--maxmemory-policy", "volatile-lru") == []


@pytest.mark.parametrize(
    ("options", "appendonly", "expected"),
    [
        ((), False, "keeps nothing on disk (appendonly no, no RDB save points)"),
        (("--save", "3600 1"), False, "has no append-only file (appendonly no, only RDB snapshots (save '3600 1'))"),
        (("--appendfsync", "no"), True, "appendfsync no, no RDB snapshot"),
    ],
)
async def test_a_redis_that_would_lose_writes_is_named(
    tmp_path: Path, options: tuple[str, ...], appendonly: bool, expected: str
) -> None:
    [problem] = await problems_with(tmp_path, *options, appendonly=appendonly)
    assert expected in problem


async def test_a_failed_write_to_disk_is_named(tmp_path: Path) -> None:
    async with redis_with(tmp_path / "redis") as url:
        client: Redis = Redis.from_url(url, decode_responses=True)
        try:
            assert await warn_about_durability(client) == []
            shutil.rmtree(tmp_path / "redis")  # its disk is gone: the next snapshot cannot be written
            await client.bgsave()
            while (await client.info("persistence"))["rdb_bgsave_in_progress"]:
                await asyncio.sleep(0.05)
            [problem] = await warn_about_durability(client)
        finally:
            await client.aclose()
    assert "reports that its last write to disk failed" in problem


async def test_a_managed_redis_without_config_is_checked_as_far_as_info_goes(tmp_path: Path) -> None:
    no_config = ("--rename-command", "CONFIG", "")
    [unchecked] = await problems_with(tmp_path, *no_config)
    assert "refuses CONFIG GET: appendfsync and RDB save points could not be checked" in unchecked
    # INFO still tells the eviction policy and whether the append-only file is on.
    found = await problems_with(
        tmp_path, *no_config, "--maxmemory", "10mb", "--maxmemory-policy", "allkeys-random", appendonly=False
    )
    assert len(found) == 3
    assert "would evict keys" in found[0] and "allkeys-random" in found[0]
    assert "RDB save points could not be checked" in found[1]
    assert "has no append-only file (appendonly no)" in found[2]
    [nothing] = await problems_with(tmp_path, *no_config, "--rename-command", "INFO", "")
    assert "refuses CONFIG GET and INFO" in nothing and "could not be checked" in nothing


async def test_parole_serve_warns_at_start(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        redis_with(tmp_path / "bad", "--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru") as url,
        running_bot(with_settings(settings, redis_url=url), listen=None) as running,
    ):
        assert await running.store.redis.ping()  # the warning does not stop the bot
    warnings = [
        r.getMessage() for r in caplog.records if r.name == "bot.storage.durability" and r.levelname == "WARNING"
    ]
    assert len(warnings) == 1 and "would evict keys" in warnings[0]


async def test_parole_worker_warns_at_start(settings: Settings, emulator: BotApiEmulator, tmp_path: Path) -> None:
    async with redis_with(tmp_path / "bad", appendonly=False) as url:
        env = worker_env(with_settings(settings, redis_url=url), emulator, tmp_path)
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot", "worker", "--no-analysis", "--port", "0"),
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        assert worker.stderr is not None
        try:
            line = await asyncio.wait_for(worker.stderr.readline(), 60)
            while line and b"keeps nothing on disk" not in line:
                line = await asyncio.wait_for(worker.stderr.readline(), 60)
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.communicate(), 30)
    assert b"WARNING" in line and b"keeps nothing on disk" in line
