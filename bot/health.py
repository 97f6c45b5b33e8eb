"""`/healthz` and `/metrics` of the processes beside the webhook: `parole worker` (a small server on its own
port) and `parole web` (routes of the web admin's application). The webhook has its own, in
`bot.channels.telegram.webhook`, with its update counters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from aiohttp import web
from redis.asyncio import Redis

from bot.errors import InvalidInput
from bot.ops import RedisFigures, stream_state
from bot.storage.cluster import REDIS_UNAVAILABLE

log = logging.getLogger(__name__)

HEALTH_PATHS: Final = ("/healthz", "/metrics")
REDIS_KEY: Final = web.AppKey("health_redis", Redis)
FIGURES_KEY: Final = web.AppKey("health_figures", RedisFigures)
PROCESS_KEY: Final = web.AppKey("health_process", str)


def add_health_routes(app: web.Application, redis: Redis, *, process: str) -> None:
    """Add `/healthz` and `/metrics` to `app`, for the process named `process` (`worker`, `web`)."""
    app[REDIS_KEY] = redis
    app[FIGURES_KEY] = RedisFigures()
    app[PROCESS_KEY] = process
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


async def healthz(request: web.Request) -> web.Response:
    """Redis reachable (else 503), and how far behind the analysis and the notifier are."""
    redis, process = request.app[REDIS_KEY], request.app[PROCESS_KEY]
    try:
        await redis.ping()
        streams = await stream_state(redis)
    except REDIS_UNAVAILABLE as exc:
        return web.json_response({"ok": False, "process": process, "redis": str(exc)}, status=503)
    lag = {s.group: {"lag": s.lag, "pending": s.pending} for s in streams}
    return web.json_response({"ok": True, "process": process, "redis": "up", "stream": lag})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format: the figures read from Redis now (stream lag and pending, open tickets)."""
    figures = request.app[FIGURES_KEY]
    try:
        await figures.refresh(request.app[REDIS_KEY])
    except REDIS_UNAVAILABLE as exc:
        log.warning("metrics: Redis figures unavailable: %s", exc)
    return web.Response(body=figures.exposition(), content_type="text/plain", charset="utf-8")


@asynccontextmanager
async def health_server(redis: Redis, *, process: str, host: str, port: int) -> AsyncIterator[None]:
    """Serve `/healthz` and `/metrics` alone on `host:port` while the block runs; port 0 serves nothing."""
    if port == 0:
        yield
        return
    if not 0 < port < 65536:
        raise InvalidInput(f"--port must be 1-65535 (or 0 for no /healthz and /metrics), not {port}")
    app = web.Application()
    add_health_routes(app, redis, process=process)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise InvalidInput(
                f"cannot listen on {host}:{port} for /healthz and /metrics ({exc.strerror or exc}): another "
                "process holds it (one more parole worker on this host?); give each its own --port, or --port 0"
            ) from exc
        log.info("%s: /healthz and /metrics on http://%s:%s", process, host, port)
        yield
    finally:
        await runner.cleanup()
