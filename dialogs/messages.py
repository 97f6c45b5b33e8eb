"""The names of the templates the engine itself says, whatever the flow (a stable contract)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["ENGINE_MESSAGES", "MessageName", "language_button"]


class MessageName(StrEnum):
    """A template the engine emits on its own; flow steps name their templates in the flow file."""

    GREETING = "greeting"
    UNKNOWN_VENUE = "unknown_venue"
    VENUE_ARCHIVED = "venue_archived"
    ASK_VENUE_CODE = "ask_venue_code"
    BAD_VENUE_CODE = "bad_venue_code"
    ALREADY_RATED = "already_rated"
    REPROMPT_RATING = "reprompt_rating"
    REPROMPT_TEXT = "reprompt_text"
    TEXT_TRUNCATED = "text_truncated"
    HELP = "help"
    CANCELLED = "cancelled"
    NOTHING_TO_CANCEL = "nothing_to_cancel"
    ASK_DISCARD_RATING = "ask_discard_rating"
    RATING_DISCARDED = "rating_discarded"
    BUTTON_DISCARD_RATING = "button_discard_rating"
    BUTTON_KEEP_RATING = "button_keep_rating"
    IDLE = "idle"
    CHOOSE_LANGUAGE = "choose_language"
    LANGUAGE_SET = "language_set"
    EXPIRED_BUTTON = "expired_button"
    RATING_RECAP = "rating_recap"
    BUTTON_RATING = "button_rating"
    BUTTON_SKIP = "button_skip"
    BUTTON_NPS = "button_nps"  # one score of the 0-10 keyboard (a flow's `input: nps` step)
    NPS_RECAP = "nps_recap"
    REPROMPT_NPS = "reprompt_nps"


ENGINE_MESSAGES: Final = frozenset(MessageName)


def language_button(language: str) -> str:
    """The template that labels the button switching to a language (`button_language_fr`…)."""
    return f"button_language_{language}"
