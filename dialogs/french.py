"""French prepositions before a name: "de" and "à" contract with the name's article and elide before a vowel.

"l'équipe de Le Petit Zinc" reads wrong; `de("Le Petit Zinc")` gives "du Petit Zinc", `à("Les Halles")`
"aux Halles", `de("Ibis Massy")` "d'Ibis Massy", `chez("Le Petit Zinc")` "au Petit Zinc". Templates use
them as the filters `de`, `à` (or `a`) and `chez`.
"""

from __future__ import annotations

from typing import Final

from markupsafe import Markup

__all__ = ["FILTERS", "a", "chez", "de", "starts_with_vowel_sound"]

_VOWELS: Final = frozenset("aàâäeéèêëiîïoôöuùûüyœæ")
#: Words starting with a mute h, which elide ("l'hôtel", "d'Hippopotamus"); any other h is aspirated
#: ("de Hollande", "du Havre"), the safe reading for a name nobody listed.
_MUTE_H: Final = (
    "habit", "harmoni", "hebdo", "héli", "herb", "hérit", "heur", "hippo", "hirond", "histo", "hiver",
    "homme", "honneur", "hôpital", "hopital", "horizon", "horlog", "hospital", "hôte", "hote", "huile",
    "huître", "huitre", "humain", "humeur", "humour", "hygièn", "hymne",
)  # fmt: skip
#: An article the name begins with, and what "de" and "à" become with it (None: write it as it stands).
_ARTICLES: Final[tuple[tuple[str, str | None, str | None], ...]] = (
    ("les ", "des ", "aux "),
    ("le ", "du ", "au "),
    ("la ", None, None),
    ("l'", None, None),
    ("l\u2019", None, None),  # the typographic apostrophe
)


def starts_with_vowel_sound(name: str) -> bool:
    """Whether "de", "le" or "que" elide before this word: a vowel, or one of the known mute h."""
    word = name.lstrip().lower()
    if not word:
        return False
    if word[0] in _VOWELS:
        return True
    return word.startswith(_MUTE_H)


def _with(name: str, plain: str, elided: str, column: int) -> str:
    stripped = name.strip()
    lowered = stripped.lower()
    for article, *contracted in _ARTICLES:
        if lowered.startswith(article) and len(stripped) > len(article):
            merged = contracted[column]
            if merged is not None:
                return merged + stripped[len(article) :]
            return f"{plain} {stripped}"
    if elided and starts_with_vowel_sound(stripped):
        return elided + stripped
    return f"{plain} {stripped}" if stripped else plain


def de(name: object) -> str:
    """ "de" before a name: "du Petit Zinc", "des Halles", "de La Table", "d'Ibis", "de Quick Massy"."""
    return _kept(name, _with(str(name), "de", "d'", 0))


def a(name: object) -> str:
    """ "à" before a name: "au Petit Zinc", "aux Halles", "à La Table", "à Ibis", "à Quick Massy"."""
    return _kept(name, _with(str(name), "à", "", 1))


def chez(name: object) -> str:
    """ "chez" before a name, or "à" with its article: "chez Quick Massy", "au Petit Zinc", "aux Halles"."""
    text = str(name).strip()
    if any(text.lower().startswith(article) and len(text) > len(article) for article, *_ in _ARTICLES):
        return a(name)
    return _kept(name, f"chez {text}")


def _kept(name: object, text: str) -> str:
    # A name already escaped (`|e` first) stays escaped: the words added hold nothing to escape.
    return Markup(text) if isinstance(name, Markup) else text


#: The filters message and page templates get, by the name a template writes.
FILTERS: Final = {"de": de, "à": a, "a": a, "chez": chez}
