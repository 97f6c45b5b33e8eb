"""Delivering one update to the bot's webhook, as Telegram does, and reading what the bot answered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

JsonDict = dict[str, Any]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """The bot's answer: its HTTP status and JSON body, or why Telegram would count the delivery failed."""

    status: int | None
    body: JsonDict | None
    error: str | None

    @property
    def accepted(self) -> bool:
        return self.error is None


async def post_update(
    session: aiohttp.ClientSession, url: str, update: JsonDict, *, secret: str | None, timeout: float
) -> WebhookReply:
    """POST the update as JSON (with the secret header when a secret was set) and await the answer."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    try:
        async with session.post(
            url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:  # fmt: skip
            raw = await response.read()
            status, reason = response.status, response.reason
    except TimeoutError:
        return WebhookReply(None, None, "Read timeout expired")
    except aiohttp.ClientConnectorError:
        return WebhookReply(None, None, "Connection refused")
    except aiohttp.ClientError as error:
        return WebhookReply(None, None, f"Connection failed: {error}")
    body: JsonDict | None = None
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    if 200 <= status < 300:
        return WebhookReply(status, body, None)
    return WebhookReply(status, body, f"Wrong response from the webhook: {status} {reason or ''}".rstrip())
