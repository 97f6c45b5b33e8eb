"""Faults a test asks for: the next calls of a method fail with a given error, or answer slowly."""

from __future__ import annotations

from collections import defaultdict, deque

from emulator.errors import BotApiError


class FaultPlan:
    """Failures and delays waiting for the next calls of each method (by its canonical name)."""

    def __init__(self) -> None:
        self._failures: defaultdict[str, deque[tuple[BotApiError, bool]]] = defaultdict(deque)
        self._delays: defaultdict[str, deque[float]] = defaultdict(deque)

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None,
        retry_after: int | None,
        times: int,
        executed: bool = False,
    ) -> None:
        for _ in range(times):
            self._failures[method].append((BotApiError(status, description, retry_after=retry_after), executed))

    def delay_next(self, method: str, seconds: float, times: int) -> None:
        self._delays[method].extend([seconds] * times)

    def take_failure(self, method: str) -> tuple[BotApiError, bool] | None:
        """The next failure of `method` and whether the call is executed before it is answered."""
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    def take_delay(self, method: str) -> float:
        queue = self._delays.get(method)
        return queue.popleft() if queue else 0.0
