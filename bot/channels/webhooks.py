"""The rule every channel's webhook follows: it is never served without authentication.

At start, a webhook mode without its secret configured refuses to start and names the variable
(`require_secret`): a secret generated at start would differ between the processes that share one URL.
At each request, the channel's check (Telegram's secret header, a body signature…) runs before the body
is read: a request that fails it gets 403 and changes nothing (`authenticated`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config import Secret
from bot.errors import ConfigError, problem

__all__ = ["Check", "authenticated", "require_secret", "secret_header"]

log = logging.getLogger(__name__)

#: Tells whether a request comes from the channel (it may read the body, e.g. to check a signature).
Check = Callable[[web.Request], Awaitable[bool]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def require_secret(secret: Secret | None, variable: str, *, mode: str) -> str:
    """The secret a webhook mode needs; without it, a `ConfigError` naming the variable.

    Raises:
        ConfigError: the variable is unset or empty.
    """
    if secret is None or not secret.reveal():
        text = (
            "is required for {mode}: a webhook is never served without authentication "
            "(for instance: openssl rand -hex 32)"
        )
        raise ConfigError(variable, problem("config_webhook_secret_required", text, mode=mode))
    return secret.reveal()


def secret_header(header: str, secret: str) -> Check:
    """A check that the request carries `secret` in `header` (compared in constant time)."""
    expected = secret.encode()

    async def check(request: web.Request) -> bool:
        return hmac.compare_digest(request.headers.get(header, "").encode(), expected)

    return check


def authenticated(handler: Handler, check: Check, *, channel: str) -> Handler:
    """`handler` behind `check`: a request that fails it gets 403, logged, and reaches nothing else."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if not await check(request):
            log.warning("%s webhook: a call that is not authenticated, from %s, refused", channel, request.remote)
            return web.json_response({"ok": False, "description": "forbidden"}, status=403)
        return await handler(request)

    return guarded
