"""Whether the Redis parole runs on would evict or lose data: read at start (`parole serve`, `parole
worker`) from `CONFIG GET` and `INFO`, and told as warnings.

parole keeps conversations, feedback and tickets only in Redis, so it wants an append-only file synced at
least every second (`appendonly yes`, `appendfsync everysec` or `always`) and no eviction
(`maxmemory-policy noeviction`). A managed Redis often refuses `CONFIG`: then what `INFO` tells is
checked and the rest is said to be unchecked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ResponseError

log = logging.getLogger(__name__)

RECOMMENDED = "appendonly yes, appendfsync everysec (or always), maxmemory-policy noeviction"


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """What one Redis server told of its persistence and memory; None where it refused to tell."""

    node: str  # host:port of a cluster node, "" for a single Redis
    config: Mapping[str, str] | None  # CONFIG GET
    info: Mapping[str, Any] | None  # INFO persistence and memory


async def read_settings(redis: Redis) -> list[NodeSettings]:
    """The settings of the Redis server, or of every primary of a cluster."""
    if isinstance(redis, RedisCluster):
        cluster: RedisCluster = await redis.initialize()  # learns the nodes, once
        return [await _read(cluster, node.name, node) for node in cluster.get_primaries()]
    return [await _read(redis, "", None)]


async def _read(client: Redis | RedisCluster, name: str, node: ClusterNode | None) -> NodeSettings:
    target: dict[str, Any] = {"target_nodes": node} if node is not None else {}

    async def ask(*command: str) -> Any:
        try:
            return await client.execute_command(*command, **target)
        except ResponseError as exc:  # renamed or forbidden by an ACL: a managed Redis
            log.debug("Redis %s refuses %s: %s", name, " ".join(command), exc)
            return None

    config = await ask("CONFIG GET", "*")
    persistence, memory = await ask("INFO", "persistence"), await ask("INFO", "memory")
    info = {**(persistence or {}), **(memory or {})} if persistence or memory else None
    return NodeSettings(name, {str(k): str(v) for k, v in config.items()} if config else None, info)


def problems(node: NodeSettings) -> list[str]:
    """What would evict or lose data on this server, in words for the operator; empty when all is well."""
    where = f"Redis {node.node}" if node.node else "Redis"
    found: list[str] = []
    config, info = node.config, node.info or {}
    if config is None and not info:
        return [
            f"{where} refuses CONFIG GET and INFO: its persistence and eviction settings could not be "
            f"checked; make sure it runs with {RECOMMENDED}"
        ]
    maxmemory = int(config.get("maxmemory", 0) if config is not None else info.get("maxmemory", 0))
    policy = str(config.get("maxmemory-policy", "") if config is not None else info.get("maxmemory_policy", ""))
    if maxmemory > 0 and policy and policy != "noeviction":
        found.append(
            f"{where} would evict keys: maxmemory is {maxmemory} bytes with maxmemory-policy {policy}, so when "
            "it is full, conversations, feedback and tickets silently disappear; set maxmemory-policy noeviction"
        )
    aof = config.get("appendonly") == "yes" if config is not None else bool(info.get("aof_enabled"))
    if config is None:
        unchecked = "appendfsync and RDB save points" if aof else "RDB save points"
        found.append(
            f"{where} refuses CONFIG GET: {unchecked} could not be checked; make sure it runs with {RECOMMENDED}"
        )
        if not aof:
            found.append(
                f"{where} has no append-only file (appendonly no): a restart loses every write since the last "
                "RDB snapshot, if any; set appendonly yes and appendfsync everysec"
            )
    else:
        found += _persistence_problems(where, aof, config.get("appendfsync", ""), config.get("save", "").strip())
    if info.get("aof_last_write_status", "ok") != "ok" or info.get("rdb_last_bgsave_status", "ok") != "ok":
        found.append(f"{where} reports that its last write to disk failed (INFO persistence): check its disk")
    return found


def _persistence_problems(where: str, aof: bool, fsync: str, save: str) -> list[str]:
    snapshots = f"RDB snapshots (save {save!r})" if save else "no RDB snapshot"
    if not aof and not save:
        return [
            f"{where} keeps nothing on disk (appendonly no, no RDB save points): a restart loses every "
            "conversation, feedback and ticket; set appendonly yes and appendfsync everysec"
        ]
    if not aof:
        return [
            f"{where} has no append-only file (appendonly no, only {snapshots}): a crash loses the writes since "
            "the last snapshot; set appendonly yes and appendfsync everysec"
        ]
    if fsync == "no":
        return [
            f"{where} leaves syncing its append-only file to the system (appendfsync no, {snapshots}): a crash "
            "of the machine loses the last seconds of writes; set appendfsync everysec"
        ]
    return []


async def warn_about_durability(redis: Redis) -> list[str]:
    """Log a warning for each setting of the Redis in use that would evict or lose data; return them."""
    found = [problem for node in await read_settings(redis) for problem in problems(node)]
    for problem in found:
        log.warning("%s", problem)
    if not found:
        log.info("Redis persistence and eviction settings: %s", RECOMMENDED)
    return found
