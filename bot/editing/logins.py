"""Web admin logins: one-time links (from `/weblogin` or `parole web login-link`) and sessions, in Redis.

A link's token works once and for a few minutes; redeeming it opens a session whose id goes in an
HttpOnly, SameSite cookie, with its own CSRF token that every form must send back.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from bot.editing.editor import Admin
from bot.storage import keys
from bot.storage.venues import check_brand_code

LINK_SECONDS: Final = 10 * 60
SESSION_SECONDS: Final = 8 * 3600
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{20,64}")


@dataclass(frozen=True, slots=True)
class WebSession:
    """A logged-in admin: who, which brand (None: an operator, every brand), the form token."""

    session_id: str
    admin: Admin
    csrf: str

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class WebLogins:
    """Issue and redeem one-time login links; look sessions up."""

    def __init__(self, redis: Redis, base_url: str) -> None:
        self.redis = redis
        self.base_url = base_url.rstrip("/")

    async def link(self, admin: Admin) -> str:
        """A one-time login URL for this admin, valid `LINK_SECONDS`."""
        if admin.brand is not None:
            check_brand_code(admin.brand)
        token = secrets.token_urlsafe(24)
        record = json.dumps({"user": admin.name, "brand": admin.brand})
        await self.redis.set(keys.web_login(token), record, ex=LINK_SECONDS)
        return f"{self.base_url}/login/{token}"

    async def is_valid(self, token: str) -> bool:
        """Tell whether a link's token would open a session now (without using it up)."""
        return bool(_TOKEN.fullmatch(token)) and bool(await self.redis.exists(keys.web_login(token)))

    async def redeem(self, token: str) -> WebSession | None:
        """Open a session from a link's token; None when it is malformed, unknown, expired or used."""
        if not _TOKEN.fullmatch(token):
            return None
        raw = await self.redis.getdel(keys.web_login(token))
        if raw is None:
            return None
        data = json.loads(raw)
        admin = Admin(str(data["user"]), data.get("brand"))
        session = WebSession(secrets.token_urlsafe(32), admin, secrets.token_urlsafe(24))
        record = {"user": session.admin.name, "brand": session.admin.brand, "csrf": session.csrf}
        await self.redis.set(keys.web_session(session.session_id), json.dumps(record), ex=SESSION_SECONDS)
        return session

    async def session(self, session_id: str | None) -> WebSession | None:
        if not session_id or not _TOKEN.fullmatch(session_id):
            return None
        raw = await self.redis.get(keys.web_session(session_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return WebSession(session_id, Admin(str(data["user"]), data.get("brand")), str(data["csrf"]))

    async def logout(self, session_id: str) -> None:
        await self.redis.delete(keys.web_session(session_id))
