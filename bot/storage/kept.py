"""A venue's settings as read a little while ago (its opening hours, its ticket policy): the customers' side reads
them on a turn without a round trip for them most of the time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
VENUES = 10_000  # venues kept at most: beyond, the whole cache starts again


class KeptPerVenue(Generic[T]):
    """One setting per venue, read again once it is `keep` seconds old."""

    def __init__(self, keep: float) -> None:
        self.keep = keep
        self._kept: dict[tuple[str, str], tuple[float, T]] = {}

    async def get(self, brand: str, venue: str, now: float, read: Callable[[], Awaitable[T]]) -> T:
        """The venue's setting as read at most `keep` seconds before `now` (else `read()` now)."""
        kept = self._kept.get((brand, venue))
        if kept is not None and now - kept[0] < self.keep:
            return kept[1]
        value = await read()
        if len(self._kept) >= VENUES:
            self._kept.clear()
        self._kept[(brand, venue)] = (now, value)
        return value
