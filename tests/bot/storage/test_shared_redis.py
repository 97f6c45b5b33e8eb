"""The embedded Redis of a data directory, shared by parole processes: the one that started it can stop
(Ctrl-C) while another still uses it; the last one out stops it; `parole redis status|stop`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.storage.embedded import SharedRedis, free_port


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PAROLE_REDIS_URL"}
    return {**env, "PAROLE_DATA_DIR": str(data_dir), "PAROLE_LOG_LEVEL": "WARNING"}


def parole(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=_env(data_dir), capture_output=True, text=True, timeout=60
    )


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(json.load(response)["ok"])
    except OSError:
        return False


@pytest.fixture
def web_processes(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    yield started
    for process, _ in started:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
    parole("redis", "stop", "--force", data_dir=tmp_path)


def _start_web(
    tmp_path: Path, started: list[tuple[subprocess.Popen[bytes], int]]
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--port", str(port)], env=_env(tmp_path), stderr=subprocess.PIPE
    )
    started.append((process, port))
    deadline = time.monotonic() + 60
    while not _healthy(port):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "parole web did not answer /healthz within 60 s"
        time.sleep(0.1)
    return process, port


def test_the_process_that_started_it_stops_and_the_other_keeps_it(
    tmp_path: Path, web_processes: list[tuple[subprocess.Popen[bytes], int]]
) -> None:
    first, _ = _start_web(tmp_path, web_processes)
    second, second_port = _start_web(tmp_path, web_processes)
    status = json.loads(parole("redis", "status", data_dir=tmp_path).stdout)
    assert status["running"] and status["in_use"]
    pid = status["pid"]

    first.send_signal(signal.SIGINT)  # Ctrl-C on the process that started the server
    assert first.wait(30) in (0, 130)
    assert _healthy(second_port)  # the other process still has its Redis, the same one
    assert json.loads(parole("redis", "status", data_dir=tmp_path).stdout)["pid"] == pid

    refused = parole("redis", "stop", data_dir=tmp_path)
    assert refused.returncode == 1
    assert "des processus parole utilisent le Redis intégré" in refused.stderr

    second.send_signal(signal.SIGINT)  # the last one out stops it
    assert second.wait(30) in (0, 130)
    assert json.loads(parole("redis", "status", data_dir=tmp_path).stdout) == {
        "directory": str((tmp_path / "redis").resolve()), "url": SharedRedis(tmp_path / "redis").url,
        "running": False, "in_use": False,
    }  # fmt: skip


def test_a_server_left_running_is_stopped_by_parole_redis_stop(tmp_path: Path) -> None:
    shared = SharedRedis(tmp_path / "redis")
    shared.acquire()
    client = redis.Redis.from_url(shared.url)
    client.set("kept", "1")
    client.close()
    assert shared._users is not None
    shared._users.close()  # as if the process had died without releasing it
    shared._users = None
    shared.server.disown()

    done = parole("redis", "stop", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stopped"] is True
    assert not shared.server._ping()
    with SharedRedis(tmp_path / "redis") as again:  # its append-only file was flushed by SHUTDOWN
        assert redis.Redis.from_url(again.url).get("kept") == b"1"


def test_redis_status_with_a_configured_url_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "redis", "status"],
        env={**_env(tmp_path), "PAROLE_REDIS_URL": "redis://127.0.0.1:1/0"}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    assert "PAROLE_REDIS_URL est défini" in done.stderr
