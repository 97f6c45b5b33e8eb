"""Normalised forms of text: case and accents folded, apostrophes unified, and canonical vocabulary ids.

Pure string functions (no spaCy), so `vocabulary_id` can be used by `bot/` without loading a model.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["fold", "fold_word", "vocabulary_id", "word_set"]

# Typographic apostrophes and ligatures that phones type in place of the plain ones.
_SPECIAL = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"}
_SPECIAL_PATTERN = re.compile("[" + "".join(_SPECIAL) + "]")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SLUG_SEPARATOR = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower-case `text`, strip its accents and unify apostrophes: "L\u2019Équipe" → "l'equipe"."""
    if not text.isascii():
        # On the hot path (every analysed text): two C-level passes, no Python loop over characters.
        text = _SPECIAL_PATTERN.sub(lambda match: _SPECIAL[match.group()], text)
        text = _COMBINING.sub("", unicodedata.normalize("NFD", text))
    return text.lower()


@lru_cache(maxsize=65_536)
def fold_word(word: str) -> str:
    """`fold` for one token, cached: a feedback uses a small vocabulary, so this is a dictionary lookup."""
    return fold(word)


def vocabulary_id(text: str) -> str:
    """Return the canonical id of a vocabulary term: a lower-case ASCII slug.

    "Le Serveur  Julien" → "le-serveur-julien", "McDonald's" → "mcdonalds", "Élodie" → "elodie".
    An apostrophe inside a word joins its two halves; any other run of non-alphanumerics is one hyphen.
    A term with no ASCII letter or digit ("😡", "北京") has the empty id: callers refuse such a term.
    """
    folded = fold(text).replace("'", "")
    ascii_only = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    return _SLUG_SEPARATOR.sub("-", ascii_only).strip("-")


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`, for word lists written as blocks of text."""
    return frozenset(text.split())
