"""Errors of the `bot` package: one base, subclasses by cause, with the fields that explain them."""

from __future__ import annotations

from dialogs.errors import Problem, problem

__all__ = [
    "AnalysisNotInstalled", "ChatBusy", "ConfigError", "InvalidInput", "NotAllowed", "NotFound", "ParoleError",
    "Problem", "RedisTooOld", "RedisUnavailable", "TooSoon", "problem",
]  # fmt: skip


class ParoleError(Exception):
    """Base of every error parole reports to a person: its `reason` is a `Problem` that `bot.refusals` puts
    into the person's language (an error raised with a plain text carries it uncoded)."""

    def __init__(self, *args: object) -> None:
        first = args[0] if args else ""
        super().__init__(*(str(arg) if isinstance(arg, Problem) else arg for arg in args))
        self.reason = first if isinstance(first, Problem) else Problem("", Exception.__str__(self))


class ConfigError(ParoleError):
    """A configuration variable is missing or bad."""

    def __init__(self, variable: str, reason: str | Problem) -> None:
        super().__init__(problem("config", "{variable} {problem}", variable=variable, problem=reason))
        self.variable = variable
        self.problem = str(reason)


class RedisUnavailable(ParoleError):
    """Redis cannot be reached or the embedded server cannot start."""


class RedisTooOld(RedisUnavailable):
    """The Redis (or Valkey) server is older than the version parole needs (streams' consumer-group `lag`...)."""

    def __init__(self, where: str | Problem, found: str | Problem, needed: str) -> None:
        text = (
            "{where} is version {found}; parole needs Redis or Valkey {needed} or newer: upgrade the server "
            "(or put a newer redis-server first on PATH for the embedded one)"
        )
        super().__init__(problem("redis_too_old", text, where=where, found=found, needed=needed))
        self.where = str(where)
        self.found = str(found)
        self.needed = needed


class AnalysisNotInstalled(ParoleError):
    """spaCy or its French model is missing: this install has no `worker` extra."""

    def __init__(self, missing: tuple[str, ...], command: str, alternative: str | Problem = "") -> None:
        text = (
            "{command} needs the analysis, which is not installed here ({missing} missing): "
            "pip install 'parole[worker]'"
        )
        super().__init__(
            problem(
                "analysis_missing", text + "{alternative}", command=command, missing=missing, alternative=alternative
            )
        )
        self.missing = missing
        self.command = command


class NotFound(ParoleError):
    """A brand, venue or feedback named on the command line does not exist."""

    def __init__(self, what: str, name: str) -> None:
        code = f"not_found_{what.replace(' ', '_')}"
        super().__init__(problem(code, "no {what} {name!r}", what=what, name=name))
        self.what = what
        self.name = name


class InvalidInput(ParoleError):
    """A value given on the command line is not acceptable; the message says why."""


class NotAllowed(InvalidInput):
    """Someone asked for what their role does not let them see (a brand admin, another brand)."""


class TooSoon(InvalidInput):
    """Someone asked again for what may be done only so often (a test e-mail); `retry_after` seconds to wait."""

    def __init__(self, reason: Problem, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class BusyElsewhere(ParoleError):
    """Another process holds what an update needs; the update is refused for now (a webhook answers 503,
    with `Retry-After` when `retry_after` is known) and delivered again later."""

    retry_after: float | None = None  # seconds until it may be free, when known


class ChatBusy(BusyElsewhere):
    """Another process held a chat's lock for longer than a turn can take."""

    def __init__(self, customer: str) -> None:
        super().__init__(problem("chat_busy", "chat {customer} is busy in another process", customer=customer))
        self.customer = customer


class UpdateClaimed(BusyElsewhere):
    """Another process claimed this very update (`bot.storage.handled`) and has not finished it: the update is
    handled again once that claim ends, rather than waited for (which would hold its chat meanwhile)."""

    retry_after: float

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"update {key} is in hand in another process; asked again in {retry_after:.1f} s")
        self.key = key
        self.retry_after = retry_after
