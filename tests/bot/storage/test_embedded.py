"""The embedded redis-server: starts, keeps data across restarts (AOF), is reused, fails clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bot.errors import RedisUnavailable
from bot.storage.embedded import EmbeddedRedis


def test_data_survives_a_clean_stop_and_a_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    assert server.owned
    client = redis.Redis.from_url(server.url)
    client.set("k", "v")
    client.close()
    server.stop()
    assert not server.socket_path.exists() or not EmbeddedRedis(tmp_path / "redis")._ping()
    assert any((tmp_path / "redis" / "appendonlydir").iterdir())
    with EmbeddedRedis(tmp_path / "redis") as again:
        client = redis.Redis.from_url(again.url)
        assert client.get("k") == b"v"
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        client.close()


def test_a_running_server_is_reused_and_left_running(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "redis") as first:
        second = EmbeddedRedis(tmp_path / "redis")
        second.start()
        assert not second.owned
        second.stop()
        assert redis.Redis.from_url(first.url).ping()


def test_kill_then_restart_keeps_what_was_fsynced(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=True)
    server.start()
    client = redis.Redis.from_url(server.url)
    client.config_set("appendfsync", "always")
    client.set("kept", "1")
    client.close()
    server.kill()
    with EmbeddedRedis(tmp_path / "redis") as again:
        assert redis.Redis.from_url(again.url).get("kept") == b"1"


def test_missing_redis_server_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RedisUnavailable, match="no redis-server on PATH"):
        EmbeddedRedis(tmp_path / "redis").start()
