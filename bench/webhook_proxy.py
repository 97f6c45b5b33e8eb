"""A small round-robin reverse proxy for `bench_scale.py`: one webhook URL in front of several
`parole serve --webhook` processes, as nginx would put it (see docs/deploy.md).

    python bench/webhook_proxy.py --port P --upstream http://127.0.0.1:A --upstream http://127.0.0.1:B

Each request goes to the next upstream in turn, with its path, body and headers (the secret header
included), and the upstream's answer goes back as it is. Like nginx's default `proxy_next_upstream error
timeout`, a request goes to the next upstream only when the connection to one could not be made (nothing
was sent); once the request was sent, a failure answers 502 and Telegram delivers the update again later.
Keep-alive connections to the upstreams are reused. `GET /proxy-stats` answers the counts as JSON.

It carries the web chat too (`PAROLE_PUBLIC_URL` pointed at it): the browser's cookies and languages go up,
redirects and cookies come back as they are, and a live connection (server-sent events) is passed on as it
comes, unbuffered, as nginx does with `proxy_buffering off`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web

FORWARDED_HEADERS = (
    "Content-Type", "X-Telegram-Bot-Api-Secret-Token", "X-Hub-Signature-256",
    "Cookie", "Accept", "Accept-Language", "Last-Event-ID",
)  # fmt: skip
RETURNED_HEADERS = ("Location", "Cache-Control", "Content-Security-Policy", "X-Content-Type-Options")
UPSTREAM_TIMEOUT = 60.0  # nginx's proxy_read_timeout default (between two reads)
MAX_BODY = 1 << 20

SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)


class Proxy:
    """Round robin over the upstreams, counting what each one got."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self._turn = itertools.cycle(range(len(upstreams)))
        self.requests = [0] * len(upstreams)
        self.next_upstream = 0  # requests passed on because an upstream refused the connection
        self.bad_gateway = 0

    async def forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        session = request.app[SESSION]
        first = next(self._turn)
        for attempt in range(len(self.upstreams)):
            index = (first + attempt) % len(self.upstreams)
            try:
                async with session.request(
                    request.method, self.upstreams[index] + request.path_qs, data=body, headers=headers,
                    allow_redirects=False,
                ) as answer:  # fmt: skip
                    self.requests[index] += 1
                    if answer.content_type == "text/event-stream":
                        return await self._stream(request, answer)
                    payload = await answer.read()
                    response = web.Response(
                        status=answer.status, body=payload, content_type=answer.content_type or "application/json"
                    )
                    _return_headers(answer, response)
                    return response
            except aiohttp.ClientConnectorError:
                self.next_upstream += 1
                continue
            except (aiohttp.ClientError, TimeoutError):
                break
        self.bad_gateway += 1
        return web.json_response({"ok": False, "description": "bad gateway"}, status=502)

    async def _stream(self, request: web.Request, answer: aiohttp.ClientResponse) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, headers={"Content-Type": answer.headers["Content-Type"]})
        _return_headers(answer, response)
        await response.prepare(request)
        async for chunk in answer.content.iter_any():
            await response.write(chunk)
        return response

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "upstreams": self.upstreams,
                "requests": self.requests,
                "next_upstream": self.next_upstream,
                "bad_gateway": self.bad_gateway,
            }
        )


def _return_headers(answer: aiohttp.ClientResponse, response: web.StreamResponse) -> None:
    for name in RETURNED_HEADERS:
        if name in answer.headers:
            response.headers[name] = answer.headers[name]
    for cookie in answer.headers.getall("Set-Cookie", ()):
        response.headers.add("Set-Cookie", cookie)


def proxy_app(upstreams: list[str]) -> web.Application:
    proxy = Proxy(upstreams)
    app = web.Application(client_max_size=MAX_BODY)

    async def session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=UPSTREAM_TIMEOUT, sock_read=UPSTREAM_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as client:
            app[SESSION] = client
            yield

    app.cleanup_ctx.append(session)
    app.router.add_get("/proxy-stats", proxy.stats)
    app.router.add_route("*", "/{tail:.*}", proxy.forward)
    return app


async def serve(host: str, port: int, upstreams: list[str]) -> None:
    # Stopped, it ends the live connections it passes on at once (as nginx's fast shutdown on SIGTERM).
    runner = web.AppRunner(proxy_app(upstreams), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"proxy on {host}:{port} -> {', '.join(upstreams)}", flush=True)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="round-robin reverse proxy in front of parole's webhook servers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", action="append", required=True, help="http://host:port (repeat)")
    args = parser.parse_args(argv)
    upstreams = [url.rstrip("/") for url in args.upstream]
    if not all(url.startswith("http://") for url in upstreams):
        parser.error("each --upstream is an http:// URL")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.host, args.port, upstreams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
