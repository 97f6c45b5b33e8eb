"""The Redis version check at connection: 7 and newer accepted, older refused naming the version found.

No Redis 6 can run here, so the old server is a small RESP server that answers PING and `INFO server` as
Redis 6.2 does (and OK to the client's CLIENT SETINFO); the accepted case is the tests' real redis-server.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.errors import RedisTooOld
from bot.storage.version import parse_version, require_redis_7

REDIS_6_INFO = "# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\nos:Linux\r\n"


async def _answer_as_redis_6(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            assert line.startswith(b"*"), line  # redis-py sends every command as a RESP array
            words = []
            for _ in range(int(line[1:])):
                size = int((await reader.readline())[1:])
                words.append((await reader.readexactly(size + 2))[:-2].decode().upper())
            if words == ["HELLO", "3"]:  # redis-py 6+ speaks RESP3, which Redis 6.0 introduced
                # As Redis answers HELLO: a map of bulk strings, except proto and id, which are integers.
                fields = [b"server", b"redis", b"version", b"6.2.14", b"mode", b"standalone", b"role", b"master"]
                writer.write(
                    b"%%%d\r\n" % (len(fields) // 2 + 2)
                    + b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in fields)
                    + b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n"
                )
            elif words == ["PING"]:
                writer.write(b"+PONG\r\n")
            elif words[0] == "INFO":
                body = b"txt:" + REDIS_6_INFO.encode()  # a RESP3 verbatim string, as Redis sends INFO
                writer.write(b"=%d\r\n%s\r\n" % (len(body), body))
            elif words[:2] == ["CLIENT", "SETINFO"]:  # new in 7.2: Redis 6.2 refuses it, the client goes on
                writer.write(b"-ERR Unknown subcommand or wrong number of arguments for 'SETINFO'\r\n")
            else:
                writer.write(b"-ERR unknown command `%s`\r\n" % words[0].encode())
            await writer.drain()
    finally:
        writer.close()


@pytest.fixture
async def redis_6_url() -> AsyncIterator[str]:
    server = await asyncio.start_server(_answer_as_redis_6, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"redis://127.0.0.1:{port}/0"


def test_versions_compare_as_numbers() -> None:
    assert parse_version("7.0.15") == (7, 0, 15)
    assert parse_version("6.2.14") < (7, 0) <= parse_version("7.0.0") < parse_version("10.0.1")
    assert parse_version("7.4-rc1") == (7,)


async def test_the_real_redis_server_is_accepted(redis_client: Redis) -> None:
    info = await redis_client.info("server")
    assert parse_version(str(info["redis_version"])) >= (7, 0)
    await require_redis_7(redis_client, where="the tests' Redis")  # raises on a server older than 7


async def test_redis_6_is_refused_with_its_version(redis_6_url: str) -> None:
    client: Redis = Redis.from_url(redis_6_url, decode_responses=True)
    try:
        with pytest.raises(RedisTooOld) as refused:
            await require_redis_7(client, where="Redis at test")
    finally:
        await client.aclose()
    assert (refused.value.found, refused.value.needed) == ("6.2.14", "7.0")


async def test_a_parole_process_on_redis_6_stops_at_start_naming_the_version(redis_6_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "PAROLE_REDIS_URL": redis_6_url, "PAROLE_DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "brand", "list", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1, (out, err)
    message = err.decode()
    assert "Redis à redis://127.0.0.1" in message and "est en version 6.2.14" in message, message
    assert "parole demande Redis ou Valkey 7.0 ou plus récent" in message, message
    assert "Traceback" not in message
