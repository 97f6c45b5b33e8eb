"""The inline keyboards the engine attaches to its questions, and the callback data of their buttons."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, TypeAlias

from dialogs.flow import NPS_SCORES, RATINGS
from dialogs.messages import MessageName, language_button
from dialogs.types import ButtonSpec, MessagePart

__all__ = [
    "DISCARD",
    "KEEP",
    "LANGUAGE_PREFIX",
    "NPS_PREFIX",
    "RATE_PREFIX",
    "SKIP",
    "Keyboard",
    "discard_keyboard",
    "language_keyboard",
    "nps_keyboard",
    "parse_language",
    "parse_nps_button",
    "parse_rate",
    "rating_keyboard",
    "skip_keyboard",
]

Keyboard: TypeAlias = tuple[tuple[ButtonSpec, ...], ...]

RATE_PREFIX: Final = "rate:"
NPS_PREFIX: Final = "nps:"
LANGUAGE_PREFIX: Final = "lang:"
SKIP: Final = "skip"
DISCARD: Final = "rating:discard"  # after /cancel: the rating given is deleted
KEEP: Final = "rating:keep"  # after /cancel: the rating given is kept


def rating_keyboard() -> Keyboard:
    """One row of five buttons, `rate:1` to `rate:5`."""
    return (
        tuple(
            ButtonSpec(MessagePart(MessageName.BUTTON_RATING, {"rating": rating}), f"{RATE_PREFIX}{rating}")
            for rating in RATINGS
        ),
    )


def nps_keyboard() -> Keyboard:
    """Two rows of scores, `nps:0` to `nps:5` and `nps:6` to `nps:10` (a phone shows six buttons a row)."""
    buttons = [ButtonSpec(MessagePart(MessageName.BUTTON_NPS, {"score": n}), f"{NPS_PREFIX}{n}") for n in NPS_SCORES]
    return (tuple(buttons[:6]), tuple(buttons[6:]))


def parse_nps_button(data: str) -> int | None:
    """The score of an `nps:N` button, or None when the data is something else."""
    if not data.startswith(NPS_PREFIX):
        return None
    value = data.removeprefix(NPS_PREFIX)
    return next((score for score in NPS_SCORES if value == str(score)), None)


def skip_keyboard() -> Keyboard:
    """The Skip button of an optional question."""
    return ((ButtonSpec(MessagePart(MessageName.BUTTON_SKIP), SKIP),),)


def discard_keyboard() -> Keyboard:
    """After /cancel with a rating given: delete it, or keep it."""
    return (
        (
            ButtonSpec(MessagePart(MessageName.BUTTON_DISCARD_RATING), DISCARD),
            ButtonSpec(MessagePart(MessageName.BUTTON_KEEP_RATING), KEEP),
        ),
    )


def language_keyboard(languages: Iterable[str]) -> Keyboard:
    """One row with a button per language, `lang:<code>`."""
    return (tuple(ButtonSpec(MessagePart(language_button(code)), f"{LANGUAGE_PREFIX}{code}") for code in languages),)


def parse_rate(data: str) -> int | None:
    """The rating of a `rate:N` button, or None when the data is something else."""
    if not data.startswith(RATE_PREFIX):
        return None
    value = data.removeprefix(RATE_PREFIX)
    return next((rating for rating in RATINGS if value == str(rating)), None)


def parse_language(data: str) -> str | None:
    """The language of a `lang:xx` button, or None when the data is something else."""
    if not data.startswith(LANGUAGE_PREFIX):
        return None
    return data.removeprefix(LANGUAGE_PREFIX) or None
