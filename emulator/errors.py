"""The emulator's errors: misuse by a test, and the Telegram error answers a Bot API call gets."""

from __future__ import annotations

from typing import Any

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class EmulatorError(Exception):
    """A test asked the emulator for something impossible (unknown user, absent button...)."""


class BotApiError(EmulatorError):
    """A Bot API call answered with Telegram's error envelope instead of a result."""

    def __init__(self, status: int, description: str | None = None, *, retry_after: int | None = None) -> None:
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after if retry_after is not None or status != 429 else 1

    def envelope(self) -> dict[str, Any]:
        """The response body Telegram sends for this error."""
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(problem: str) -> BotApiError:
    """A 400 answer, worded as Telegram does ("Bad Request: ...")."""
    return BotApiError(400, f"Bad Request: {problem}")


def forbidden(problem: str) -> BotApiError:
    """A 403 answer, worded as Telegram does ("Forbidden: ...")."""
    return BotApiError(403, f"Forbidden: {problem}")
