"""How updates reach the bot: getUpdates, and the webhook methods."""

from __future__ import annotations

import re

from emulator.errors import bad_request
from emulator.methods.context import Described, JsonDict, MethodContext, Params
from emulator.updates import WebhookSettings

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram wants HTTPS on ports 443, 80, 88 or 8443; the emulator delivers to local test servers.
_URL = re.compile(r"https?://[^\s/?#]+(?:[/?#]\S*)?")


async def get_updates(ctx: MethodContext, params: Params) -> list[JsonDict]:
    return await ctx.updates.poll(
        offset=params.get("offset"),
        limit=params.get("limit", 100),
        timeout=params.get("timeout", 0),
        allowed_updates=params.get("allowed_updates"),
    )


async def set_webhook(ctx: MethodContext, params: Params) -> Described:
    url: str = params["url"]
    if not url:
        return await delete_webhook(ctx, params)
    if not _URL.fullmatch(url):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.get("max_connections", 40)
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if params.get("drop_pending_updates"):
        ctx.updates.drop_pending()
    if params.get("allowed_updates") is not None:
        ctx.updates.allowed_updates = list(params["allowed_updates"])
    current = ctx.updates.webhook
    settings = WebhookSettings(
        url=url,
        secret_token=secret,
        max_connections=max_connections,
        ip_address=params.get("ip_address"),
        has_custom_certificate="certificate" in params,
    )
    ctx.updates.set_webhook(settings)
    return Described(True, "Webhook is already set" if current == settings else "Webhook was set")


async def delete_webhook(ctx: MethodContext, params: Params) -> Described:
    if params.get("drop_pending_updates"):
        ctx.updates.drop_pending()
    was_set = ctx.updates.webhook is not None
    ctx.updates.delete_webhook()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


async def get_webhook_info(ctx: MethodContext, params: Params) -> JsonDict:
    return ctx.updates.webhook_info()
