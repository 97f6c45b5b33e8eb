"""The scale benchmark's reverse proxy behaves as nginx's default `proxy_next_upstream error timeout`: round
robin, the next upstream only when one refused the connection, 502 when none answers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.storage.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY = ROOT / "bench" / "webhook_proxy.py"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def upstream(port: int, seen: list[tuple[str, str, bytes]]) -> web.AppRunner:
    """A webhook server that records what reached it and answers with its port."""

    async def receive(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get(SECRET_HEADER, ""), await request.read()))
        return web.json_response({"ok": True, "port": port})

    app = web.Application()
    app.router.add_post("/telegram", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def started_proxy(port: int, upstreams: list[int]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, str(PROXY), "--port", str(port)]
    for number in upstreams:
        argv += ["--upstream", f"http://127.0.0.1:{number}"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the proxy did not start") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return process


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_the_proxy_takes_turns_and_skips_an_upstream_that_refuses(client: aiohttp.ClientSession) -> None:
    live_port, dead_port, proxy_port = free_port(), free_port(), free_port()
    seen: list[tuple[str, str, bytes]] = []
    runner = await upstream(live_port, seen)
    proxy = await started_proxy(proxy_port, [dead_port, live_port])
    try:
        for number in range(4):
            async with client.post(
                f"http://127.0.0.1:{proxy_port}/telegram",
                data=f'{{"update_id": {number}}}'.encode(),
                headers={"Content-Type": "application/json", SECRET_HEADER: "s3cret"},
            ) as answer:
                assert answer.status == 200
                assert await answer.json() == {"ok": True, "port": live_port}
        async with client.get(f"http://127.0.0.1:{proxy_port}/proxy-stats") as answer:
            stats = await answer.json()
    finally:
        proxy.terminate()
        proxy.wait(10)
        await runner.cleanup()
    assert seen == [("/telegram", "s3cret", f'{{"update_id": {n}}}'.encode()) for n in range(4)]
    # Half the turns fell on the dead upstream and went on to the live one; none was lost.
    assert stats["requests"] == [0, 4]
    assert stats["next_upstream"] == 2
    assert stats["bad_gateway"] == 0


async def test_the_proxy_answers_502_when_no_upstream_answers(client: aiohttp.ClientSession) -> None:
    proxy_port = free_port()
    proxy = await started_proxy(proxy_port, [free_port(), free_port()])
    try:
        async with client.post(f"http://127.0.0.1:{proxy_port}/telegram", data=b'{"update_id": 1}') as answer:
            assert answer.status == 502
            assert (await answer.json())["ok"] is False
    finally:
        proxy.terminate()
        proxy.wait(10)


def test_the_proxy_refuses_an_upstream_that_is_not_an_http_url() -> None:
    done = subprocess.run(
        [sys.executable, str(PROXY), "--port", str(free_port()), "--upstream", "ftp://127.0.0.1:21"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "each --upstream is an http:// URL" in done.stderr
