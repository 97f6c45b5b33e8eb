"""The Redis server's version, checked when a parole process connects: older than 7 is refused at once
rather than failing later on a missing field (a stream group's `lag`, new in 7.0)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.errors import Problem, RedisTooOld, problem

MINIMUM = (7, 0)
MINIMUM_TEXT = "7.0"


def parse_version(text: str) -> tuple[int, ...]:
    """`7.2.4` → (7, 2, 4); a part that is not a number ends the tuple (`7.4-rc1` → (7,))."""
    parts: list[int] = []
    for part in text.split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


async def require_redis_7(redis: Redis, *, where: str | Problem) -> None:
    """Raise `RedisTooOld` naming the version found when the server (or any cluster primary) is older than 7.

    Valkey reports the Redis version it is compatible with as `redis_version` (7.2.4 for Valkey 7 and 8).
    """
    if isinstance(redis, RedisCluster):
        cluster: RedisCluster = await redis.initialize()
        for node in cluster.get_primaries():
            _check(
                await _info(cluster, {"target_nodes": node}),
                problem("redis_node", "{where} (node {node})", where=where, node=node.name),
            )
        return
    _check(await _info(redis, {}), where)


async def _info(client: Redis | RedisCluster, target: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = await client.execute_command("INFO", "server", **target)
    return info


def _check(info: dict[str, Any], where: str | Problem) -> None:
    found = str(info.get("redis_version", ""))
    if parse_version(found) < MINIMUM:
        raise RedisTooOld(
            where, found or problem("redis_info_unknown", "unknown (INFO tells no redis_version)"), MINIMUM_TEXT
        )
