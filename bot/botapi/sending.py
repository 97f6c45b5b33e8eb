"""One Bot API call (customer chats and staff side alike), with Telegram's refusals turned into an outcome to act on.

Retried, whatever the call: a 429 (waited out; every process waits too, see `bot.botapi.outbound`), and a
failure Telegram certainly did not execute (`NotExecuted`: no connection, or 500, 503). A failure that may
hide an executed call (a read timeout, 502, 504, a connection cut while waiting for the answer) is retried only
for idempotent calls (edits, reads): a send is not made twice, the customer would see the message twice;
a send that timed out most often went through, late. A 403 means the other side is gone (the customer
blocked the bot, the bot left the group).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.botapi.http import NotExecuted
from bot.botapi.outbound import PRIORITY, Priority
from bot.seam.outgoing import Delivered

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RETRY_AFTER = 30.0
ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Sent(Generic[T]):
    """What became of a call: its outcome and, when it went through, its result."""

    outcome: Delivered
    result: T | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Delivered.SENT


async def call_telegram(
    call: Callable[[], Awaitable[T]], *, idempotent: bool, what: str, priority: Priority = Priority.ANSWER
) -> Sent[T]:
    """Make one Bot API call; never raise Telegram's errors (they become the outcome).

    `priority` says who goes first when Telegram's limits are near (see `bot.botapi.outbound`).
    """
    token = PRIORITY.set(priority)
    try:
        return await _call(call, idempotent=idempotent, what=what)
    finally:
        PRIORITY.reset(token)


async def _call(call: Callable[[], Awaitable[T]], *, idempotent: bool, what: str) -> Sent[T]:
    for attempt in range(ATTEMPTS):
        try:
            return Sent(Delivered.SENT, await call())
        except RetryAfter as exc:
            delay = exc.retry_after
            seconds = delay.total_seconds() if isinstance(delay, dt.timedelta) else float(delay)
            log.warning("%s: Telegram asked to wait %.0f s (attempt %d)", what, seconds, attempt + 1)
            await _before_next(attempt, min(seconds, MAX_RETRY_AFTER))
        except Forbidden as exc:
            log.info("%s: refused, the other side is gone: %s", what, exc.message)
            return Sent(Delivered.BLOCKED)
        except BadRequest as exc:
            if "message is not modified" in exc.message:
                return Sent(Delivered.SENT)
            log.error("%s: Telegram refused: %s", what, exc.message)
            return Sent(Delivered.FAILED)
        except NotExecuted as exc:
            log.warning("%s: not executed by Telegram (attempt %d): %s", what, attempt + 1, exc)
            await _before_next(attempt, 0.2 * 2**attempt)
        except NetworkError as exc:
            if not idempotent:
                log.error("%s: failed, not retried (it may have gone through): %s", what, exc)
                return Sent(Delivered.FAILED)
            log.warning("%s: failed (attempt %d): %s", what, attempt + 1, exc)
            await _before_next(attempt, 0.2 * 2**attempt)
        except TelegramError as exc:
            log.error("%s: failed: %s", what, exc)
            return Sent(Delivered.FAILED)
    log.error("%s: given up after %d attempts", what, ATTEMPTS)
    return Sent(Delivered.FAILED)


async def _before_next(attempt: int, seconds: float) -> None:
    """Wait before the next attempt; not after the last one."""
    if attempt + 1 < ATTEMPTS:
        await asyncio.sleep(seconds)
