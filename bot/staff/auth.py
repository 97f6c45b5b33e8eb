"""Who may act in a staff room: its members (staff) and, for `/unlink`, the brand admins.

Brand admins are the operators (`PAROLE_ADMIN_IDS`) and the room's Telegram administrators. Telegram's
answer to getChatMember is kept `ttl` seconds per (room, user), so a busy room costs one call a minute
per person, and a member who leaves loses access within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from telegram import Bot, ChatMemberRestricted
from telegram.constants import ChatMemberStatus

from bot.botapi.sending import call_telegram

MEMBER_CACHE_SECONDS = 60.0
_PRESENT = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER})
_ADMINS = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})


class StaffAuth:
    """Membership and administrator status in staff rooms, asked from Telegram and cached briefly."""

    def __init__(
        self,
        bot: Bot,
        admin_ids: Collection[int] = (),
        *,
        ttl: float = MEMBER_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.admin_ids = frozenset(admin_ids)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[int, int], tuple[float, str, bool]] = {}

    def is_operator(self, user_id: int) -> bool:
        return user_id in self.admin_ids

    async def _status(self, chat_id: int, user_id: int) -> tuple[str, bool] | None:
        now = self.clock()
        cached = self._cache.get((chat_id, user_id))
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        asked = await call_telegram(
            lambda: self.bot.get_chat_member(chat_id, user_id), idempotent=True, what="staff membership"
        )
        if asked.result is None:
            return None  # not cached: Telegram may answer next time
        member = asked.result
        restricted_member = isinstance(member, ChatMemberRestricted) and member.is_member
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[(chat_id, user_id)] = (now + self.ttl, member.status, restricted_member)
        return member.status, restricted_member

    async def is_staff(self, chat_id: int, user_id: int) -> bool:
        """Tell whether the user is in the room now (or is an operator)."""
        if self.is_operator(user_id):
            return True
        status = await self._status(chat_id, user_id)
        return status is not None and (status[0] in _PRESENT or status[1])

    async def is_admin(self, chat_id: int, user_id: int) -> bool:
        """Tell whether the user is a brand admin for this room: an operator or a Telegram administrator."""
        if self.is_operator(user_id):
            return True
        status = await self._status(chat_id, user_id)
        return status is not None and status[0] in _ADMINS
