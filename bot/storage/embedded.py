"""The embedded `redis-server`: a child process with its files under the data directory; and a local
Redis Cluster of three of them, for the tests and the benchmarks.

Used when `PAROLE_REDIS_URL` is unset, and by the tests (which need a server they can kill and
restart). Append-only file on, `appendfsync everysec`, no eviction. When another parole process
already runs the embedded server for the same data directory, it is reused and left running.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import redis

from bot.errors import RedisUnavailable


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """A `redis-server` child process storing its files in `directory`.

    With `port=None` it listens only on a unix socket in `directory`, so two projects never collide.
    """

    def __init__(
        self, directory: Path, *, port: int | None = None, appendonly: bool = True, options: Sequence[str] = ()
    ) -> None:
        """`options`: more `redis-server` arguments, after (so over) parole's own, e.g. for a cluster node."""
        self.directory = directory.resolve()
        self.port = port
        self.appendonly = appendonly
        self.options = tuple(options)
        self.socket_path = self.directory / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    @property
    def owned(self) -> bool:
        """True when this object started the server (and so stops it)."""
        return self._process is not None

    def _ping(self) -> bool:
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (redis.RedisError, OSError):
            return False

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the server, or reuse the one already serving this directory."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisUnavailable(
                "no redis-server on PATH: install it (apt-get install redis-server) "
                "or set PAROLE_REDIS_URL to a running Redis"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._ping():
                return
            if self.port is None and self.socket_path.exists():
                self.socket_path.unlink()
            args = [
                binary,
                "--dir", str(self.directory),
                "--port", str(self.port or 0),
                "--bind", "127.0.0.1",
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "everysec",
                "--save", "",
                "--maxmemory-policy", "noeviction",
                "--logfile", str(self.directory / "redis.log"),
                "--daemonize", "no",
            ]  # fmt: skip
            if self.port is None:
                args += ["--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
            args += self.options
            self._process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            deadline = time.monotonic() + timeout
            while not self._ping():
                if self._process.poll() is not None:
                    err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                    log = self.directory / "redis.log"
                    tail = log.read_text(errors="replace")[-800:] if log.exists() else err
                    self._process = None
                    raise RedisUnavailable(f"redis-server exited at start: {tail.strip() or err.strip()}")
                if time.monotonic() > deadline:
                    self.kill()
                    raise RedisUnavailable(f"redis-server did not answer within {timeout:.0f} s")
                time.sleep(0.02)

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the server if this object started it, letting it flush its append-only file."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            process.terminate()  # SIGTERM: redis-server fsyncs the AOF and exits cleanly
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stderr:
            process.stderr.close()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would: for fault tests."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            os.kill(process.pid, 9)
            process.wait()
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class LocalCluster:
    """A Redis Cluster of `masters` masters on loopback, each an `EmbeddedRedis` with `--cluster-enabled yes`
    in its own directory under `root`, joined with `redis-cli --cluster create`; it can be killed (SIGKILL)
    and started again (each node keeps its `nodes.conf`, and its data with `appendonly`)."""

    def __init__(self, root: Path, *options: str, appendonly: bool = False, masters: int = 3) -> None:
        self.servers: list[EmbeddedRedis] = []
        for number in range(masters):
            node_options = (
                *options, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-port", str(free_port()), "--cluster-node-timeout", "2000",
            )  # fmt: skip
            self.servers.append(
                EmbeddedRedis(root / f"node{number}", port=free_port(), appendonly=appendonly, options=node_options)
            )
        self.nodes = [f"127.0.0.1:{server.port}" for server in self.servers]
        self.url = f"redis+cluster://{self.nodes[0]}"  # one node names it, as an operator would

    def create(self, *, timeout: float = 60.0) -> None:
        """Start the nodes, give them the slots, and wait until every node serves the whole cluster."""
        binary = shutil.which("redis-cli")
        if binary is None:
            raise RedisUnavailable("no redis-cli on PATH (it comes with redis-server: apt-get install redis-tools)")
        self.start()
        done = subprocess.run(
            [binary, "--cluster", "create", *self.nodes, "--cluster-yes"], capture_output=True, timeout=timeout
        )
        if done.returncode != 0:
            self.stop()
            raise RedisUnavailable(f"redis-cli --cluster create failed: {done.stdout.decode(errors='replace')[-800:]}")
        self.wait_until_ready(timeout=timeout)

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def kill(self) -> None:
        for server in self.servers:
            server.kill()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def wait_until_ready(self, *, timeout: float = 30.0) -> None:
        """Every node knows every slot's owner (the gossip after a start takes a moment)."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            host, port = node.split(":")
            client = redis.Redis(host=host, port=int(port), decode_responses=True)
            try:
                while client.cluster("info")["cluster_state"] != "ok":
                    if time.monotonic() > deadline:
                        raise RedisUnavailable(f"cluster node {node} not ready within {timeout:.0f} s")
                    time.sleep(0.05)
            finally:
                client.close()
