"""The language of a feedback, from its words (a stop-word count) or else the customer's Telegram language."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nlp.lexicon import words
from nlp.normalize import fold, word_set

__all__ = ["DEFAULT_LANGUAGE", "detect_language"]

DEFAULT_LANGUAGE = "fr"  # the venues are French: a text that says nothing about its language is taken as French

_FRENCH_LETTERS = re.compile("[éèêàâçùûîïôœëÉÈÊÀÂÇÙÛÎÏÔŒË]")

# Frequent function words, folded; a word in both lists would count for neither, so none is.
_FRENCH = word_set(
    """
    le la les un une des du de d l j c n qu que qui et est sont etait ete tres pas ne au aux ce cette ces mon ma
    mes son sa ses nous vous ils elle je tu il avec pour sur dans par plus mais ou tout tous toute bien merci
    bonjour rien trop peu vraiment encore deja aussi chez
    """
)
_ENGLISH = word_set(
    """
    the and is are was were very not to of in it this that these with for my our your we you they he she i at be
    been but there their too really thanks thank please good great bad staff hello nothing
    """
)


def detect_language(text: str, hint: str | None = None, *, text_words: Sequence[str] | None = None) -> str:
    """Return a language code for `text`: "fr" or "en" when its words say so, else `hint`, else French.

    `hint` is the customer's Telegram or chosen language ("en", "en-GB", "de"…); it decides when the text
    is too short or too mixed to tell, and is the only way to get a language other than French or English.
    `text_words` are `nlp.lexicon.words(fold(text))` when the caller has them already.
    """
    found = words(fold(text)) if text_words is None else text_words
    french = sum(map(_FRENCH.__contains__, found))
    english = sum(map(_ENGLISH.__contains__, found))
    if _FRENCH_LETTERS.search(text):
        french += 1
    if french > english:
        return "fr"
    if english > french:
        return "en"
    return _primary(hint) or DEFAULT_LANGUAGE


def _primary(hint: str | None) -> str | None:
    """The primary subtag of a language tag, lower-cased: "en-GB" → "en"; None for an empty or odd hint."""
    if not hint:
        return None
    primary = hint.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else None
