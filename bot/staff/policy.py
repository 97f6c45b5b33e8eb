"""Which feedback needs an answer: a brand's ticket policy (and a venue's, which wins over it).

By default a ticket is opened (`open`) for a rating of 1-3, a complaint or critique, a suggestion, and a feedback
whose customer asked to be contacted; the rest is "no answer needed" (`no_answer`): its ticket is numbered and
its card shown, but it gets no reminders and does not count in the response rate. A feedback abandoned after
its rating alone never needs one. Whether a feedback is a complaint comes from its analysis: until that is
known, a feedback that the rest of the policy lets through waits as `no_answer` and opens when the analysis
says so.

Stored as JSON in the brand's hash (`ticket_policy`) and in a venue's (`ticket_policy`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from bot.errors import InvalidInput, problem
from bot.storage import keys
from bot.storage.kept import KeptPerVenue
from bot.storage.store import Store, redis_text

KINDS = ("complaint", "critique", "suggestion", "praise")
FIELD = "ticket_policy"
CONTACT_EVENT = "contact"  # in a brand's event stream: a customer asked to be contacted about a feedback
CACHE_SECONDS = 60.0  # how long the customers' side keeps a venue's policy (whether to offer "contact me")


class Decision(StrEnum):
    OPEN = "open"  # needs an answer
    NO_ANSWER = "no_answer"  # no answer needed
    WAIT = "wait"  # no answer needed unless the analysis finds a kind that does


@dataclass(frozen=True, slots=True)
class TicketPolicy:
    """What opens a ticket: a rating up to `max_rating` (0: none), one of `kinds`, a suggestion, a contact asked."""

    max_rating: int = 3
    kinds: tuple[str, ...] = ("complaint", "critique", "suggestion")
    suggestion: bool = True
    contact: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "max_rating": self.max_rating,
            "kinds": list(self.kinds),
            "suggestion": self.suggestion,
            "contact": self.contact,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TicketPolicy:
        return checked(
            cls(
                max_rating=int(data.get("max_rating", 3)),
                kinds=tuple(str(k) for k in data.get("kinds", ("complaint", "critique", "suggestion"))),
                suggestion=bool(data.get("suggestion", True)),
                contact=bool(data.get("contact", True)),
            )
        )

    def decide(self, feedback: Mapping[str, str]) -> Decision:
        """The decision for a feedback hash as stored (`rating`, `reason`, `suggestion`, `status`, `kind`,
        `contact`, `analysed_at`)."""
        rating = int(feedback.get("rating") or 0)
        reason, suggestion = feedback.get("reason", ""), feedback.get("suggestion", "")
        if feedback.get("status") == "abandoned" and not reason.strip() and not suggestion.strip():
            return Decision.NO_ANSWER  # a rating alone, then the customer left: nothing to answer
        if 0 < rating <= self.max_rating:
            return Decision.OPEN
        if self.suggestion and suggestion.strip():
            return Decision.OPEN
        if self.contact and feedback.get("contact") == "1":
            return Decision.OPEN
        if not self.kinds:
            return Decision.NO_ANSWER
        if feedback.get("analysed_at"):
            return Decision.OPEN if feedback.get("kind") in self.kinds else Decision.NO_ANSWER
        return Decision.WAIT


def checked(policy: TicketPolicy) -> TicketPolicy:
    if not 0 <= policy.max_rating <= 5:
        raise InvalidInput(
            problem("policy_max_rating", "max_rating must be 0 (none) to 5, not {rating}", rating=policy.max_rating)
        )
    unknown = [k for k in policy.kinds if k not in KINDS]
    if unknown:
        raise InvalidInput(
            problem(
                "policy_kinds",
                "unknown kind {unknown}: choose among {kinds:kinds}",
                unknown=tuple(unknown),
                kinds=tuple(KINDS),
            )
        )
    return replace(policy, kinds=tuple(k for k in KINDS if k in policy.kinds))


class PolicyStore:
    """Reads and writes ticket policies (brand, venue); one round trip to read the one in force."""

    def __init__(self, redis: Redis, *, keep: float = CACHE_SECONDS) -> None:
        self.redis = redis
        self._kept: KeptPerVenue[TicketPolicy] = KeptPerVenue(keep)

    async def recent(self, brand: str, venue: str, now: float) -> TicketPolicy:
        """The policy in force as read at most `keep` seconds ago: the customer's thanks costs no round trip."""
        return await self._kept.get(brand, venue, now, lambda: self.in_force(brand, venue))

    async def in_force(self, brand: str, venue: str) -> TicketPolicy:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.venue(brand, venue), FIELD)
            pipe.hget(keys.brand(brand), FIELD)
            venue_policy, brand_policy = await pipe.execute()
        raw = venue_policy or brand_policy
        return TicketPolicy.from_json(json.loads(redis_text(raw))) if raw else TicketPolicy()

    async def show(self, store: Store, brand: str, venue: str | None = None) -> dict[str, Any]:
        """The policy in force for the brand (or venue), and where it comes from (`default`, `brand`, `venue`)."""
        await store.get_brand(brand)
        if venue is not None:
            await store.get_venue(brand, venue)
            raw = await self.redis.hget(keys.venue(brand, venue), FIELD)
            if raw:
                return {"brand": brand, "venue": venue, "from": "venue", **json.loads(redis_text(raw))}
        raw = await self.redis.hget(keys.brand(brand), FIELD)
        origin = "brand" if raw else "default"
        policy = TicketPolicy.from_json(json.loads(redis_text(raw))) if raw else TicketPolicy()
        return {"brand": brand, "venue": venue, "from": origin, **policy.to_json()}

    async def set(self, store: Store, brand: str, venue: str | None, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change some fields of the brand's (or venue's) policy, starting from the one in force there."""
        current = await self.show(store, brand, venue)
        policy = TicketPolicy.from_json({**current, **{k: v for k, v in changes.items() if v is not None}})
        key = keys.venue(brand, venue) if venue is not None else keys.brand(brand)
        await self.redis.hset(key, FIELD, json.dumps(policy.to_json()))
        return await self.show(store, brand, venue)

    async def reset(self, store: Store, brand: str, venue: str | None) -> dict[str, Any]:
        """Forget the venue's policy (the brand's applies) or the brand's (the default applies)."""
        await self.show(store, brand, venue)
        await self.redis.hdel(keys.venue(brand, venue) if venue is not None else keys.brand(brand), FIELD)
        return await self.show(store, brand, venue)
