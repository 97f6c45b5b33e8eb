"""Reading what customers type: ratings, free text, skip words and short venue codes."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "SHORT_CODE_ALPHABET",
    "SHORT_CODE_LENGTH",
    "clean_text",
    "is_skip",
    "normalise_venue_code",
    "parse_discard",
    "parse_nps",
    "parse_rating",
    "parse_yes_no",
]

#: Short venue codes avoid characters people confuse when they copy them: 0/O and 1/I/L.
SHORT_CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SHORT_CODE_LENGTH: Final = 6

_NUMBER_WORDS: Final = {
    "un": 1,
    "une": 1,
    "one": 1,
    "deux": 2,
    "two": 2,
    "trois": 3,
    "three": 3,
    "quatre": 4,
    "four": 4,
    "cinq": 5,
    "five": 5,
}
_FILLED_STARS: Final = frozenset("⭐★\U0001f31f")  # ⭐ ★ 🌟
_EMPTY_STARS: Final = frozenset("☆")
_STAR_CLASS: Final = "⭐★\U0001f31f"

# "4", "4/5", "4 / 5", "4 sur 5", "four out of five", "4 étoiles", "quatre stars", "4 ⭐", "4."
_RATING_RE: Final = re.compile(
    r"(?P<n>[0-9]+|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
    r"\s*(?:(?:/|sur|out\s+of|on)\s*(?:5|cinq|five)|[eé]toiles?|stars?|[" + _STAR_CLASS + r"])?"
    r"\s*[.!]*"
)

# Invisible characters that only get in the way of reading an answer. Zero-width joiner and
# non-joiner are kept: emoji sequences and some scripts need them.
_INVISIBLE: Final = frozenset(
    "\u00ad"  # soft hyphen
    "\u180e"  # Mongolian vowel separator
    "\u200b"  # zero-width space
    "\u200e\u200f"  # left-to-right / right-to-left marks
    "\u202a\u202b\u202c\u202d\u202e"  # bidirectional embeddings and overrides
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # bidirectional isolates
    "\ufeff"  # byte order mark
)
_VARIATION_SELECTORS: Final = frozenset("\ufe0e\ufe0f")
_SKIP_WORDS: Final = frozenset(
    {"skip", "passer", "je passe", "non", "non merci", "no", "no thanks", "rien", "nothing", "-", "aucune"}
)
_CODE_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015.·_]+")


# "8", "8/10", "8 / 10", "8 sur 10", "8 out of 10", "8." ("0" to "10").
_NPS_RE: Final = re.compile(r"(?P<n>[0-9]{1,2})\s*(?:(?:/|sur|out\s+of|on)\s*10)?\s*[.!]*")


def parse_nps(text: str) -> int | None:
    """Read a score from 0 to 10 (the NPS question) in what the customer typed, or None when it is not one.

    Accepts digits ("8", "8/10", "8 sur 10", "8 out of 10", "8."); refuses anything outside 0-10, decimals and
    anything else.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = "".join(ch for ch in folded if ch not in _VARIATION_SELECTORS and ch not in _INVISIBLE).strip()
    match = _NPS_RE.fullmatch(folded)
    if match is None:
        return None
    value = int(match.group("n"))
    return value if 0 <= value <= 10 else None


def parse_rating(text: str) -> int | None:
    """Read a rating from 1 to 5 in what the customer typed, or None when it is not one.

    Accepts digits ("4", "4/5", "4 sur 5", "4 out of 5", "4."), words ("quatre", "Four", "une"),
    units ("4 étoiles", "4 stars") and stars ("⭐⭐⭐⭐", "★★★☆☆"). Refuses anything outside 1-5,
    other scales ("4/10"), decimals ("3.5") and anything else.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = "".join(ch for ch in folded if ch not in _VARIATION_SELECTORS and ch not in _INVISIBLE)
    folded = folded.replace("\u200d", "").strip()
    if not folded:
        return None
    stars = _count_stars(folded)
    if stars is not None:
        return stars
    match = _RATING_RE.fullmatch(folded)
    if match is None:
        return None
    word = match.group("n")
    value = _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)
    return value if 1 <= value <= 5 else None


def _count_stars(text: str) -> int | None:
    """Count filled stars in a text made only of stars (and spaces); None when it is something else."""
    letters = [ch for ch in text if not ch.isspace()]
    if not letters or any(ch not in _FILLED_STARS and ch not in _EMPTY_STARS for ch in letters):
        return None
    filled = sum(1 for ch in letters if ch in _FILLED_STARS)
    if len(letters) > 5 or filled == 0:
        return None
    return filled


def is_skip(text: str) -> bool:
    """Tell whether the customer typed a word that means "skip this question"."""
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    folded = " ".join(folded.split())
    if folded != "-":
        folded = folded.rstrip(".! ")
    return folded in _SKIP_WORDS


_YES_WORDS: Final = frozenset(
    {"oui", "yes", "ouais", "oui merci", "yes thanks", "résolu", "resolu", "solved", "ok", "👍", "y", "o"}
)
_NO_WORDS: Final = frozenset(
    {"non", "no", "nope", "pas résolu", "pas resolu", "non pas résolu", "not solved", "👎", "n"}
)


_DISCARD_WORDS: Final = frozenset(
    {"supprimer", "supprimer ma note", "supprimez", "supprimez ma note", "supprime", "effacer", "effacer ma note",
     "delete", "delete my rating", "discard", "remove"}
)  # fmt: skip
_KEEP_WORDS: Final = frozenset({"garder", "garder ma note", "gardez", "garde", "conserver", "keep", "keep my rating"})


def parse_discard(text: str) -> bool | None:
    """After /cancel: a typed "delete my rating" (True) or "keep it" (False), in French or English, else None."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().replace("\ufe0f", "").split())
    folded = folded.strip(".!,;: ")
    return True if folded in _DISCARD_WORDS else False if folded in _KEEP_WORDS else None


def parse_yes_no(text: str) -> bool | None:
    """A typed yes (True) or no (False), in French or English, or None for anything else."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().replace("\ufe0f", "").split())
    folded = folded.strip(".!,;: ")
    return True if folded in _YES_WORDS else False if folded in _NO_WORDS else None


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Make a customer's free text safe to store and show; return it and whether it was truncated.

    Removes control characters (keeping new lines and tabs) and invisible formatting characters,
    normalises to NFC, trims blank lines and surrounding space, and cuts it to `limit` characters,
    at a word boundary when there is one near the end, marking the cut with "…".
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    text = "".join(ch for ch in text if _keep(ch))
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) <= limit:
        return text, False
    return _truncate(text, limit), True


def _keep(ch: str) -> bool:
    if ch in "\n\t":
        return True
    if unicodedata.category(ch) == "Cc":  # C0, DEL and C1 controls
        return False
    return ch not in _INVISIBLE


def _truncate(text: str, limit: int) -> str:
    if limit == 1:
        return "…"
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():
        # Cut at the last space when it keeps most of the text; a single endless word is cut hard.
        space = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
        if space >= (limit - 1) * 4 // 5:
            cut = cut[:space]
    return cut.rstrip() + "…"


def normalise_venue_code(text: str) -> str | None:
    """Read a short venue code as typed ("k7p 2qx", "K7P-2QX"); None when it cannot be one.

    Upper-cases, drops spaces, dashes, dots and underscores, and checks the result is
    `SHORT_CODE_LENGTH` characters of `SHORT_CODE_ALPHABET`. Confusable characters (0, O, 1, I, L)
    are not guessed: the alphabet has none of them, so a code containing one is refused.
    """
    code = _CODE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if len(code) != SHORT_CODE_LENGTH or any(ch not in SHORT_CODE_ALPHABET for ch in code):
        return None
    return code
