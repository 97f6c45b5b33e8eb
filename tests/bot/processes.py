"""Bot processes for the tests: `parole serve --webhook` started as a deployment runs it, and a round-robin
reverse proxy in front of several of them (what nginx does: a POST that fails to connect goes to the next
one; a POST whose process dies mid-request gets 502, and Telegram delivers the update again)."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.storage.embedded import free_port
from emulator import BotApiEmulator


def start_bot(settings: Settings, log: Path, *, port: int | None = None) -> subprocess.Popen[bytes]:
    """`parole serve --webhook` with the test's settings, listening on `port` (default: the webhook URL's)."""
    assert settings.webhook_url is not None and settings.telegram_token is not None
    assert settings.webhook_secret is not None and settings.redis_url is not None
    env = {
        **os.environ,
        "PAROLE_TELEGRAM_TOKEN": settings.telegram_token.reveal(),
        "PAROLE_TELEGRAM_API_URL": settings.telegram_api_url,
        "PAROLE_REDIS_URL": settings.redis_url,
        "PAROLE_WEBHOOK_URL": settings.webhook_url,
        "PAROLE_WEBHOOK_SECRET": settings.webhook_secret.reveal(),
        "PAROLE_DATA_DIR": str(settings.data_dir),
    }
    listen = port if port is not None else int(settings.webhook_url.split(":")[2].split("/")[0])
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--webhook", "--port", str(listen)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent,
        )  # fmt: skip


async def wait_ready(
    settings: Settings, emulator: BotApiEmulator, process: subprocess.Popen[bytes], *, port: int | None = None
) -> None:
    """Until the process registered the webhook and answers /healthz (on `port`, default the URL's)."""
    assert settings.webhook_url is not None
    health = settings.webhook_url.rsplit("/", 2)[0] + "/healthz"
    if port is not None:
        health = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            assert process.poll() is None, "the bot process exited"
            if emulator.webhook_url == settings.webhook_url:
                try:
                    async with session.get(health) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.05)
    raise AssertionError("the bot process did not come up")


class Proxy:
    """Round-robin reverse proxy on `port` in front of backends on 127.0.0.1; `last` is the backend port the
    last POST went to."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.backends = backends
        self._turn = itertools.cycle(range(len(backends)))
        self.last: int | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Proxy:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in self.backends:
            port = self.backends[next(self._turn)]
            url = f"http://127.0.0.1:{port}{request.rel_url}"
            if request.method == "POST":
                self.last = port
            try:
                async with self._session.request(request.method, url, data=body, headers=headers) as resp:
                    return web.Response(body=await resp.read(), status=resp.status, content_type=resp.content_type)
            except aiohttp.ClientConnectorError:
                continue  # not listening: nothing was sent, the next backend gets it
            except aiohttp.ClientError:
                return web.Response(status=502, text="the backend died mid-request")
        return web.Response(status=502, text="no backend up")


def backend_ports(count: int) -> list[int]:
    return [free_port() for _ in range(count)]
