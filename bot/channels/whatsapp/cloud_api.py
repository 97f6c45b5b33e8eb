"""The Graph API's WhatsApp messaging endpoint, one call at a time, its errors read by their meaning.

A refusal is an outcome, not an exception: the caller decides what the customer, the staff room or the
log is told. Throughput and pair rate limits, and a service that says it is unavailable, are retried
after a pause (the message was not taken); a timeout or another server error is not (it may have gone).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import aiohttp

log = logging.getLogger(__name__)

OUTSIDE_WINDOW_CODES: Final = frozenset({131047})
UNDELIVERABLE_CODES: Final = frozenset({131026, 131021, 131030})  # undeliverable, own number, not allowed
RATE_LIMIT_CODES: Final = frozenset({4, 80007, 130429, 131048, 131056})
TOKEN_CODES: Final = frozenset({190})
UNAVAILABLE_CODES: Final = frozenset({131016, 2})  # the service said it is unavailable: nothing was taken
RETRY_PAUSES: Final = (0.2, 1.0, 3.0)
TIMEOUT: Final = aiohttp.ClientTimeout(total=15, connect=5)


class Result(StrEnum):
    SENT = "sent"
    OUTSIDE_WINDOW = "outside_window"  # only a template reaches the customer now
    UNDELIVERABLE = "undeliverable"  # blocked us, or not on WhatsApp
    RATE_LIMITED = "rate_limited"  # still, after the retries
    TOKEN = "token"  # the access token expired or was revoked: nothing goes out until it is replaced
    REFUSED = "refused"  # a bad request (a bug: logged with the API's words)
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, the network


@dataclass(frozen=True, slots=True)
class Reply:
    """What the API answered: the outcome, the error code if any, and the sent message's id."""

    result: Result
    code: int | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is Result.SENT


def meaning(status: int, code: int | None) -> Result:
    """The outcome an HTTP status and Graph API error code stand for."""
    if status == 200:
        return Result.SENT
    if code in OUTSIDE_WINDOW_CODES:
        return Result.OUTSIDE_WINDOW
    if code in UNDELIVERABLE_CODES:
        return Result.UNDELIVERABLE
    if code in RATE_LIMIT_CODES or status == 429:
        return Result.RATE_LIMITED
    if code in TOKEN_CODES or status == 401:
        return Result.TOKEN
    if status >= 500 or code in UNAVAILABLE_CODES or code == 131000:
        return Result.UNAVAILABLE
    return Result.REFUSED


class CloudApi:
    """Posts to `<api_url>/<phone_number_id>/messages` with the access token."""

    def __init__(self, api_url: str, phone_number_id: str, token: str, *, pauses: tuple[float, ...] = RETRY_PAUSES):
        self.url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._session: aiohttp.ClientSession | None = None
        self.pauses = pauses
        self.token_expired = False  # set by a 190 until a call succeeds again (`/healthz` reports it)
        self.calls = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, payload: dict[str, Any], *, what: str) -> Reply:
        """One message (or a mark as read), retried while the API says it took nothing."""
        attempts = 0
        while True:
            reply = await self._once(payload)
            retry = reply.result is Result.RATE_LIMITED or (
                reply.result is Result.UNAVAILABLE and reply.code in (*UNAVAILABLE_CODES, -1)
            )
            if not retry or attempts >= len(self.pauses):
                break
            await asyncio.sleep(self.pauses[attempts])
            attempts += 1
        if reply.result is Result.TOKEN:
            if not self.token_expired:
                log.error(
                    "WhatsApp: the access token was refused (expired or revoked): set a new PAROLE_WHATSAPP_TOKEN"
                )
            self.token_expired = True
        elif reply.ok:
            self.token_expired = False
        elif reply.result is not Result.OUTSIDE_WINDOW:
            log.warning("WhatsApp refused the %s: %s (code %s)", what, reply.result, reply.code)
        return reply

    async def _once(self, payload: dict[str, Any]) -> Reply:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        self.calls += 1
        try:
            async with self._session.post(self.url, data=json.dumps(payload), headers=self._headers) as response:
                status = response.status
                try:
                    body: Any = await response.json(content_type=None)
                except ValueError:
                    body = None
        except aiohttp.ClientConnectorError:
            return Reply(Result.UNAVAILABLE, -1)  # never connected: nothing was sent, retry
        except (TimeoutError, aiohttp.ClientError):
            return Reply(Result.UNAVAILABLE)  # it may have gone: not retried
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) and isinstance(error.get("code"), int) else None
        result = meaning(status, code)
        message_id = None
        if result is Result.SENT and isinstance(body, dict):
            messages = body.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                message_id = str(messages[0].get("id"))
        return Reply(result, code, message_id)
