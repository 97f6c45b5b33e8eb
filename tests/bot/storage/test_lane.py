"""The hot path's lean Redis connection (`bot.storage.lane`) against real redis-servers: replies, errors,
concurrent batches, a server killed and restarted, credentials, a unix socket, a server that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.storage.cluster import cluster_client
from bot.storage.embedded import EmbeddedRedis, free_port, server_binary
from bot.storage.lane import RedisLane, lane_for


@pytest.fixture
async def lane(redis_client: Redis) -> AsyncIterator[RedisLane]:
    made = lane_for(redis_client)
    assert made is not None
    yield made
    await made.aclose()


async def test_one_round_trip_gives_each_command_its_reply_decoded(lane: RedisLane, redis_client: Redis) -> None:
    await redis_client.set("seen", "déjà vu")
    replies = await lane.execute(
        [
            ("GET", "seen"),
            ("GET", "missing"),
            ("SET", "lock", "abc", "NX", "PX", 10_000),
            ("SET", "lock", "other", "NX", "PX", 10_000),
            ("HSET", "feedback", "rating", 4, "score", 1.5),
            ("EVAL", "return redis.call('DEL', KEYS[1])", 1, "lock"),
        ]
    )
    assert replies == ["déjà vu", None, "OK", None, 2, 1]
    assert await redis_client.hgetall("feedback") == {"rating": "4", "score": "1.5"}
    assert (lane.round_trips, lane.commands) == (1, 6)


async def test_concurrent_batches_each_get_their_own_replies(lane: RedisLane, redis_client: Redis) -> None:
    await redis_client.mset({f"k{i}": f"v{i}" for i in range(300)})

    async def read(i: int) -> list[object]:
        return await lane.execute([("GET", f"k{i}"), ("INCR", f"n{i}")])

    results = await asyncio.gather(*(read(i) for i in range(300)))
    assert results == [[f"v{i}", 1] for i in range(300)]


async def test_an_error_reply_raises_after_the_batch_ran_and_the_lane_stays_usable(
    lane: RedisLane, redis_client: Redis
) -> None:
    await redis_client.set("text", "not a list")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await lane.execute([("SET", "before", "1"), ("LPUSH", "text", "x"), ("SET", "after", "2")])
    assert await redis_client.mget("before", "after") == ["1", "2"]
    assert await lane.execute([("GET", "text")]) == ["not a list"]


async def test_an_error_inside_a_transaction_raises_too(lane: RedisLane, redis_client: Redis) -> None:
    await redis_client.set("text", "not a list")
    transaction = [("MULTI",), ("SET", "before", "1"), ("LPUSH", "text", "x"), ("SET", "after", "2"), ("EXEC",)]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await lane.execute(transaction)
    assert await redis_client.mget("before", "after") == ["1", "2"]  # Redis ran the rest, as it does
    replies = await lane.execute(transaction, raise_on_error=False)
    assert replies[:4] == ["OK", "QUEUED", "QUEUED", "QUEUED"]
    done, failed, again = replies[4]
    assert (done, again) == ("OK", "OK")
    assert isinstance(failed, ResponseError) and "WRONGTYPE" in str(failed)


async def test_an_empty_batch_returns_at_once_and_keeps_the_connection(lane: RedisLane, redis_client: Redis) -> None:
    await redis_client.set("kept", "yes")
    lane.timeout = 2.0
    assert await lane.execute([("GET", "kept")]) == ["yes"]
    started = time.perf_counter()
    waiting = asyncio.create_task(lane.execute([("BLPOP", "nothing", 0.5)]))  # another caller, mid-flight
    assert await lane.execute([]) == []
    assert time.perf_counter() - started < 0.2
    assert await waiting == [None]  # not dropped with the connection
    assert (await lane.execute([("GET", "kept")]), lane.round_trips) == (["yes"], 3)


async def test_a_killed_server_fails_the_batch_and_the_lane_reconnects_once_it_is_back(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port())
    server.start()
    client = Redis.from_url(server.url, decode_responses=True)
    lane = lane_for(client)
    assert lane is not None
    try:
        assert await lane.execute([("SET", "kept", "yes")]) == ["OK"]
        await client.config_set("appendfsync", "always")
        server.kill()
        with pytest.raises(RedisConnectionError):
            await lane.execute([("GET", "kept")])
        with pytest.raises(RedisConnectionError, match="cannot connect to Redis"):
            await lane.execute([("GET", "kept")])
        server.start()
        assert await lane.execute([("GET", "kept")]) == ["yes"]
    finally:
        await lane.aclose()
        await client.aclose()
        server.stop()


@pytest.fixture
def password_server(tmp_path: Path) -> Iterator[int]:
    """A Redis server (`redis-server`, else the packaged Valkey) that wants a password, on its own port."""
    port = free_port()
    process = subprocess.Popen(
        [server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--requirepass", "s3cret"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def test_password_and_database_come_from_the_url(password_server: int) -> None:
    url = f"redis://:s3cret@127.0.0.1:{password_server}"
    on_db3, on_db0 = Redis.from_url(f"{url}/3", decode_responses=True), Redis.from_url(url, decode_responses=True)
    wrong = Redis.from_url(f"redis://:wrong@127.0.0.1:{password_server}/0", decode_responses=True)
    lane, refused = lane_for(on_db3), lane_for(wrong)
    assert lane is not None and refused is not None
    try:
        assert await lane.execute([("SET", "where", "db3")]) == ["OK"]
        assert await on_db3.get("where") == "db3"
        assert await on_db0.get("where") is None
        with pytest.raises(ResponseError, match=r"WRONGPASS|invalid"):
            await refused.execute([("GET", "where")])
    finally:
        for closing in (lane, refused, on_db3, on_db0, wrong):
            await closing.aclose()


async def test_a_unix_socket_url_is_served_too(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    await asyncio.to_thread(server.start)
    client = Redis.from_url(server.url, decode_responses=True)
    lane = lane_for(client)
    try:
        assert lane is not None and lane.path == str(server.socket_path)
        assert await lane.execute([("SET", "via", "socket"), ("GET", "via")]) == ["OK", "socket"]
    finally:
        if lane is not None:
            await lane.aclose()
        await client.aclose()
        await asyncio.to_thread(server.stop)


async def test_a_server_that_never_answers_times_out_and_the_next_batch_connects_again() -> None:
    connections: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    lane = RedisLane(port=port, host="127.0.0.1", timeout=0.2)
    try:
        with pytest.raises(RedisTimeoutError, match=r"did not answer within 0\.2 s"):
            await lane.execute([("GET", "anything")])
        with pytest.raises(RedisTimeoutError):
            await lane.execute([("GET", "anything")])
        assert len(connections) == 2
    finally:
        await lane.aclose()
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_no_server_at_all_is_a_connection_error_naming_where() -> None:
    lane = RedisLane(host="127.0.0.1", port=free_port())
    with pytest.raises(RedisConnectionError, match=r"cannot connect to Redis at 127\.0\.0\.1:\d+"):
        await lane.execute([("PING",)])


def test_a_cluster_or_tls_client_keeps_redis_py() -> None:
    tls = Redis.from_url("rediss://127.0.0.1:6390/0")
    assert lane_for(tls) is None
    cluster = cluster_client("redis+cluster://127.0.0.1:7000", decode_responses=True)
    assert lane_for(cluster) is None
