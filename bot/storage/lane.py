"""One lean, multiplexed Redis connection for the bot's hot path (a chat's read and a turn's write).

redis-py's asyncio pipeline costs about 300 µs of CPU a round trip here (a pooled connection taken and
given back, command objects, response callbacks, a future per read); the two round trips of every update
made it the largest cost of the bot after Telegram's own. The lane writes a batch of commands packed by
hiredis in one `write` and hiredis parses the replies as they arrive, about 35 µs a round trip. Every
caller shares the one connection: Redis answers in order, so each batch waits for its own replies in the
order batches were written, and concurrent updates need no pool.

It speaks to one Redis server (TCP or unix socket, with AUTH and SELECT from the client's URL). A Redis
Cluster or a TLS URL keeps redis-py (`lane_for` gives None), as does everything off the hot path.

Errors are redis-py's, so callers and the webhook's 503 see no difference: a reply error raises
`ResponseError` (the batch's other commands have run, as with a pipeline); a connection refused, lost or
silent for `timeout` seconds raises `ConnectionError` or `TimeoutError` for every batch waiting on it, and
the next batch connects again.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.cluster import is_cluster

Command = Sequence[str | bytes | int | float]
DEFAULT_TIMEOUT = 10.0


class _Batch:
    __slots__ = ("expected", "future", "replies", "timer")

    def __init__(self, expected: int, future: asyncio.Future[list[Any]]) -> None:
        self.expected = expected
        self.replies: list[Any] = []
        self.future = future
        self.timer: asyncio.TimerHandle | None = None


class _Protocol(asyncio.Protocol):
    def __init__(self, encoding: str, errors: str) -> None:
        self.reader = hiredis.Reader(encoding=encoding, errors=errors)
        self.waiting: collections.deque[_Batch] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            batch = waiting[0]
            batch.replies.append(reply)
            if len(batch.replies) == batch.expected:
                waiting.popleft()
                if batch.timer is not None:
                    batch.timer.cancel()
                if not batch.future.done():  # a caller that gave up still had its replies read
                    batch.future.set_result(batch.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        error = RedisConnectionError(f"connection to Redis lost: {exc or 'closed by the server'}")
        while self.waiting:
            batch = self.waiting.popleft()
            if batch.timer is not None:
                batch.timer.cancel()
            if not batch.future.done():
                batch.future.set_exception(error)
        if not self.closed.done():
            self.closed.set_result(None)


class RedisLane:
    """The connection, opened on first use and again after it was lost."""

    def __init__(
        self,
        *,
        host: str = "localhost",
        port: int = 6379,
        path: str | None = None,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        connect_timeout: float = DEFAULT_TIMEOUT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.host, self.port, self.path = host, port, path
        self.username, self.password, self.db = username, password, db
        self.encoding, self.encoding_errors = encoding, encoding_errors
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task[_Protocol] | None = None
        self.round_trips = 0  # batches written (the benchmark reads these)
        self.commands = 0

    def __repr__(self) -> str:
        where = self.path or f"{self.host}:{self.port}"
        return f"RedisLane({where}, db={self.db})"

    async def execute(self, commands: Sequence[Command], *, raise_on_error: bool = True) -> list[Any]:
        """Run the commands in one round trip; their replies, in order. An error reply raises (after the
        whole batch ran), or with `raise_on_error=False` takes its place in the list as an exception
        (`NoScriptError` for a script the server does not have, else `ResponseError`). An error inside a
        transaction's EXEC (or a script's table) is one too: it raises, or takes its place in that list.
        An empty batch is answered at once, without writing (Redis would never answer it)."""
        if not commands:
            return []
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            protocol = await self._connect()
        transport = protocol.transport
        if transport is None or transport.is_closing():
            raise RedisConnectionError("connection to Redis lost")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        batch = _Batch(len(commands), future)
        batch.timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out, protocol, batch)
        protocol.waiting.append(batch)
        # hiredis' stub types the argument as a 1-tuple; it takes any length.
        transport.write(b"".join([hiredis.pack_command(tuple(command)) for command in commands]))  # type: ignore[arg-type]
        self.round_trips += 1
        self.commands += len(commands)
        replies = await future
        _raise_errors(replies, raise_on_error=raise_on_error)
        return replies

    def _timed_out(self, protocol: _Protocol, batch: _Batch) -> None:
        """No reply within the timeout: the connection is dropped (its other batches fail too)."""
        if not batch.future.done():
            batch.future.set_exception(RedisTimeoutError(f"Redis did not answer within {self.timeout:g} s"))
        if protocol.transport is not None:
            protocol.transport.abort()

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        where = self.path or f"{self.host}:{self.port}"

        def factory() -> _Protocol:
            return _Protocol(self.encoding, self.encoding_errors)

        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.path is not None:
                    _, protocol = await loop.create_unix_connection(factory, self.path)
                else:
                    _, protocol = await loop.create_connection(factory, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise RedisConnectionError(f"cannot connect to Redis at {where}: {exc or 'timed out'}") from exc
        self._protocol = protocol
        handshake: list[Command] = []
        if self.password is not None:
            handshake.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            handshake.append(("SELECT", self.db))
        if handshake:
            try:
                await self.execute(handshake)
            except ResponseError:
                await self.aclose()
                raise
        return protocol

    async def aclose(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()
            await protocol.closed


def _raise_errors(replies: list[Any], *, raise_on_error: bool) -> None:
    """Turn error replies, at any depth (EXEC's array, a script's table), into redis-py's exceptions."""
    pending = [replies]
    while pending:
        replies = pending.pop()
        for i, reply in enumerate(replies):
            if isinstance(reply, hiredis.ReplyError):
                error = (NoScriptError if str(reply).startswith("NOSCRIPT") else ResponseError)(str(reply))
                if raise_on_error:
                    raise error
                replies[i] = error
            elif isinstance(reply, list):
                pending.append(reply)


def lane_for(redis: Redis, *, timeout: float = DEFAULT_TIMEOUT) -> RedisLane | None:
    """A lane to the server `redis` talks to, with its credentials and database; None for a Redis Cluster
    or a TLS connection (those stay on redis-py)."""
    if is_cluster(redis):
        return None
    pool = redis.connection_pool
    options = pool.connection_kwargs
    if getattr(pool.connection_class, "__name__", "") == "SSLConnection" or options.get("ssl"):
        return None
    return RedisLane(
        host=str(options.get("host", "localhost")),
        port=int(options.get("port", 6379)),
        path=options.get("path"),
        username=options.get("username"),
        password=options.get("password"),
        db=int(options.get("db", 0) or 0),
        encoding=str(options.get("encoding", "utf-8")),
        encoding_errors=str(options.get("encoding_errors", "strict")),
        connect_timeout=float(options.get("socket_connect_timeout") or DEFAULT_TIMEOUT),
        timeout=float(options.get("socket_timeout") or timeout),
    )
