"""Redis Cluster: the client for `redis+cluster://` URLs, and the few places where parole's Redis use
differs on a cluster (writes across hash slots, what "Redis is unavailable" raises; scripts in pipelines:
`bot.storage.scripts`); and the loops of Redis calls that must stop when cancelled (`resume_every`).

The rest of `bot/` is written against `redis.asyncio.Redis`; redis-py's `RedisCluster` answers the same
commands and routes each key to its node. A brand's keys share a hash tag (`parole:{brand}:…`, see
`bot.storage.keys`), so a Lua script or a transaction over one brand's keys stays in one slot; everything that
spans slots is a plain (non-transactional) pipeline, which redis-py splits by node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

log = logging.getLogger(__name__)

CLUSTER_SCHEME_SUFFIX = "+cluster://"

# What "Redis is unavailable" raises: redis-py's errors, socket errors, and `RedisClusterException` (not a
# `RedisError`), which a cluster client raises when none of its nodes can be reached.
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, RedisClusterException, OSError)


async def resume_every(resume: Callable[[], Awaitable[int]], every: float, *, what: str) -> None:
    """Forever, until cancelled: `resume` (the jobs of `what` that stopped processes left; how many it started)
    now and every `every` seconds; a Redis failure is logged and the next look tries again."""
    while True:
        try:
            if resumed := await resume():
                log.info("resumed %d %s a stopped process had left", resumed, what)
        except REDIS_UNAVAILABLE as exc:  # a cluster out of reach raises RedisClusterException, no RedisError
            log.warning("cannot look for %s to resume: %s", what, exc)
        raise_if_cancelled()
        await asyncio.sleep(every)


def raise_if_cancelled() -> None:
    """Stop the current task if it was asked to: redis-py may turn a cancellation that arrives while it reads a
    reply into its own error, or retry the command and return normally, so a loop of Redis calls checks for one
    before it sleeps, or the task outlives its cancellation (seen: a stopping bot waited forever for one)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def cluster_client(url: str, **options: Any) -> Redis:
    """A `RedisCluster` client for a `redis+cluster://host:port` (or `rediss+cluster://`) URL.

    Typed as `Redis`: the two answer the same commands parole uses, and the differences are handled in
    this module (`is_cluster` tells them apart at run time).
    """
    scheme, _, rest = url.partition(CLUSTER_SCHEME_SUFFIX)
    if not rest:
        raise ValueError(f"not a Redis Cluster URL: {url.split('@')[-1]!r}")
    return cast(Redis, RedisCluster.from_url(f"{scheme}://{rest}", **options))


def is_cluster(redis: Redis) -> bool:
    return isinstance(redis, RedisCluster)


def multi_slot_writes(redis: Redis) -> Pipeline:
    """A pipeline for writes whose keys lie in several hash slots.

    On one Redis it is a MULTI/EXEC transaction, as before; a cluster has no transaction across slots, so
    there it is a plain pipeline: each command still runs once, but a reader may see some of the writes
    before the others. Callers order their writes so that such a moment is harmless.
    """
    return redis.pipeline(transaction=not is_cluster(redis))
