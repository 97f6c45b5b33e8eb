"""The bot's pending updates: numbering, the allowed types, long polling, the webhook settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import BotApiError

JsonDict = dict[str, Any]

# Telegram leaves these out unless `allowed_updates` names them.
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


@dataclass(slots=True)
class PendingUpdate:
    update_id: int
    update: JsonDict
    fetched: bool = False  # handed to the bot by getUpdates at least once


@dataclass(slots=True)
class WebhookSettings:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False


@dataclass(slots=True)
class WebhookFailure:
    date: int
    message: str


def update_type(update: JsonDict) -> str | None:
    """The kind of an update: its one field besides `update_id`."""
    return next((key for key in update if key != "update_id"), None)


@dataclass
class UpdateQueue:
    """Updates waiting for the bot: until getUpdates confirms them, or the webhook accepts them."""

    allowed_updates: list[str] | None = None
    webhook: WebhookSettings | None = None
    last_failure: WebhookFailure | None = None
    _pending: list[PendingUpdate] = field(default_factory=list)
    _next_id: int = 1
    _changed: asyncio.Event | None = None
    _poller: int = 0
    _closed: bool = False

    # Feeding

    def accepts(self, kind: str | None) -> bool:
        """Whether Telegram would create an update of this kind under the current `allowed_updates`."""
        if kind is None:
            return True
        if not self.allowed_updates:
            return kind not in NOT_BY_DEFAULT
        return kind in self.allowed_updates

    def number(self, update: JsonDict) -> tuple[int, JsonDict]:
        """The update's id and the update carrying it: the next id, unless the update has its own.

        A malformed `update_id` (a test's raw update) is left as it is; the queue still numbers it.
        """
        given = update.get("update_id")
        if isinstance(given, int) and not isinstance(given, bool):
            self._next_id = max(self._next_id, given + 1)
            return given, update
        update_id = self._next_id
        self._next_id += 1
        return update_id, update if "update_id" in update else {"update_id": update_id, **update}

    def push(self, update_id: int, update: JsonDict) -> PendingUpdate:
        """Queue a numbered update for the bot."""
        pending = PendingUpdate(update_id, update)
        self._pending.append(pending)
        self._notify()
        return pending

    # Webhook delivery

    def set_webhook(self, settings: WebhookSettings) -> None:
        if self.webhook is None or self.webhook.url != settings.url:
            self.last_failure = None
        self.webhook = settings
        self._notify()  # a waiting getUpdates now ends in a conflict

    def delete_webhook(self) -> None:
        self.webhook = None
        self.last_failure = None

    @property
    def pending(self) -> list[PendingUpdate]:
        return list(self._pending)

    def delivered(self, update_id: int) -> None:
        self._pending = [p for p in self._pending if p.update_id != update_id]

    def drop_pending(self) -> None:
        self._pending.clear()

    def handed_over(self) -> bool:
        """Every update reached the bot: fetched by getUpdates, or (with a webhook) accepted by it."""
        if self.webhook is not None:
            return not self._pending
        return all(p.fetched for p in self._pending)

    def webhook_info(self) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": bool(self.webhook and self.webhook.has_custom_certificate),
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.ip_address:
                info["ip_address"] = self.webhook.ip_address
            if self.last_failure is not None:
                info["last_error_date"] = self.last_failure.date
                info["last_error_message"] = self.last_failure.message
        if self.allowed_updates:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    # Long polling

    async def poll(
        self, *, offset: int | None, limit: int, timeout: float, allowed_updates: Sequence[str] | None
    ) -> list[JsonDict]:
        """Answer getUpdates: confirm what precedes `offset`, then wait up to `timeout` for updates.

        A newer getUpdates call ends a waiting one with Telegram's 409 Conflict.
        """
        if self.webhook is not None:
            raise BotApiError(409, CONFLICT_WEBHOOK)
        if allowed_updates is not None:
            self.allowed_updates = list(allowed_updates)
        self._poller += 1
        me = self._poller
        self._notify()  # wakes an older poller, which then sees it was superseded
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            if me != self._poller:
                raise BotApiError(409, CONFLICT_OTHER_POLLER)
            if self.webhook is not None:
                raise BotApiError(409, CONFLICT_WEBHOOK)
            batch = self._pending[: max(1, min(limit, 100))]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closed:
                for pending in batch:
                    pending.fetched = True
                return [p.update for p in batch]
            if self._changed is None:
                self._changed = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def close(self) -> None:
        """Let every waiting getUpdates return at once (the emulator is stopping)."""
        self._closed = True
        self._notify()

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self._pending = self._pending[offset:]  # the last -offset updates; earlier ones are forgotten
        else:
            self._pending = [p for p in self._pending if p.update_id >= offset]

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
