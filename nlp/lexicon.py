"""Word lists matched on the words of folded text; the matching behind kinds and aspects.

A term is a folded word or phrase. A trailing `*` makes its last word a stem ("attend*" matches attendre,
attendu, attente), which stands in for lemmas at no cost: the analysis does not load the lemmatizer (see
`nlp.pipeline`). A term written between slashes is a regular expression one word must match in full
("/\\d+min/"). Matching looks each word up in dictionaries (with a per-word cache), so its cost grows with
the length of the text, not with the size of the lists.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

from nlp.normalize import word_set

__all__ = ["NEGATORS", "Lexicon", "Match", "is_negated", "words"]

_WORD = re.compile(r"\w+|[^\w\s]")
# Words that turn the cue right after them around ("pas aimable", "peu propre", "jamais à l'heure",
# "not friendly", "wasn't clean"). Not "plus": "plus chers" is no negation, and "ne … plus" has its "ne".
NEGATORS = {
    "fr": word_set("pas peu jamais sans aucun aucune guere ni"),
    "en": word_set("not no never hardly without isn wasn aren weren don didn doesn couldn wouldn"),
}
_NEGATION_SCOPE = 2  # the negator is one of the two words before the cue: "pas aimable", "pas très aimable"
# Words the scope does not count: "wasn't" (the negator is "wasn", then ' and t), "pas du tout aimable".
_TRANSPARENT = frozenset({"'", "t", "du", "tout"})


def words(folded: str) -> list[str]:
    """The words and punctuation marks of a folded text, as the lexicons see them ("l'heure" → l ' heure)."""
    return _WORD.findall(folded)


# One occurrence of a term: (its list's name, the position of its first word). A plain tuple: building a
# named one costs ten times more, and a text has several.
Match: TypeAlias = tuple[str, int]


class _WordTags(dict[str, frozenset[str]]):
    """Word → the lists it belongs to; computed on first sight, then a C-level dictionary hit."""

    def __init__(self, lexicon: Lexicon) -> None:
        super().__init__()
        self._lexicon = lexicon

    def __missing__(self, word: str) -> frozenset[str]:
        tags = self._lexicon.compute_word_tags(word)
        if len(self) < 100_000:  # a bound, for a worker that runs for months
            self[word] = tags
        return tags


class Lexicon:
    """Named lists of terms, searched in one pass over a text's words."""

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self._exact: dict[str, set[str]] = {}
        self._stems: dict[str, set[str]] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        # Phrases by their first two words ("a", "l" for "a l'heure"), longest first; "*" second for a stem.
        self._phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {}
        for tag, tag_terms in terms.items():
            for term in tag_terms:
                self._add(term, tag)
        self._stem_lengths = sorted({len(stem) for stem in self._stems})
        for phrases in self._phrases.values():
            phrases.sort(key=lambda phrase: len(phrase[0]), reverse=True)
        self._bigrams = frozenset(key for key in self._phrases if key[1] != "*")
        self._stem_starts = frozenset(first for first, second in self._phrases if second == "*")
        self._word_tags = _WordTags(self)

    def _add(self, term: str, tag: str) -> None:
        if len(term) > 2 and term.startswith("/") and term.endswith("/"):
            self._patterns.append((re.compile(term[1:-1]), tag))
            return
        parts = words(term.rstrip("*")) + (["*"] if term.endswith("*") else [])
        if len(parts) == 1:
            self._exact.setdefault(parts[0], set()).add(tag)
        elif len(parts) == 2 and parts[1] == "*":
            self._stems.setdefault(parts[0], set()).add(tag)
        else:
            key = (parts[0], "*" if len(parts) == 3 and parts[2] == "*" else parts[1])
            self._phrases.setdefault(key, []).append((tuple(parts), tag))

    def compute_word_tags(self, word: str) -> frozenset[str]:
        """The lists a single word belongs to, exactly, by a stem, or by a pattern (uncached)."""
        found = set(self._exact.get(word, ()))
        for length in self._stem_lengths:
            if length > len(word):
                break
            found |= self._stems.get(word[:length], set())
        for pattern, tag in self._patterns:
            if pattern.fullmatch(word):
                found.add(tag)
        return frozenset(found)

    def find(self, text_words: list[str]) -> list[Match]:
        """Every occurrence of every term; a phrase counts once, at its first word, and hides its words."""
        # On the hot path (every analysed text): C-level lookups, Python only where a term was found.
        found: list[Match] = []
        hidden = self._find_phrases(text_words, found)
        tagged = [(i, tags) for i, tags in enumerate(map(self._word_tags.__getitem__, text_words)) if tags]
        for i, tags in tagged:
            if not hidden or i not in hidden:
                for tag in tags:
                    found.append((tag, i))
        return found

    def tags(self, text_words: list[str]) -> set[str]:
        """The names of the lists with a term in the text (a phrase's words count on their own too)."""
        found: list[Match] = []
        self._find_phrases(text_words, found)
        tags: set[str] = set().union(*map(self._word_tags.__getitem__, text_words))
        return tags.union([tag for tag, _ in found])

    def _find_phrases(self, text_words: list[str], found: list[Match]) -> set[int]:
        """Append the phrases of the text (the longest at each start); return the positions they cover."""
        hidden: set[int] = set()
        keys = self._bigrams.intersection(itertools.pairwise(text_words))
        stems = self._stem_starts.intersection(text_words)
        if not keys and not stems:
            return hidden  # the usual case, decided by two C-level set operations
        pairs = list(itertools.pairwise(text_words))
        starts = [i for i, pair in enumerate(pairs) if pair in keys]
        if stems:
            starts = sorted({*starts, *(i for i, word in enumerate(text_words) if word in stems)})
        for i in starts:
            if i in hidden:
                continue
            candidates = self._phrases.get(pairs[i], []) if i < len(pairs) else []
            if text_words[i] in stems:
                candidates = sorted([*candidates, *self._phrases[(text_words[i], "*")]], key=lambda p: -len(p[0]))
            length = 0
            for phrase, tag in candidates:
                size = len(phrase) - (phrase[-1] == "*")
                if size >= length and _phrase_at(phrase, text_words, i):
                    found.append((tag, i))
                    length = size
            hidden.update(range(i, i + length))
        return hidden


def _phrase_at(phrase: tuple[str, ...], text_words: Sequence[str], i: int) -> bool:
    stem = phrase[-1] == "*"
    body = phrase[:-2] if stem else phrase
    end = i + len(body)
    if end > len(text_words) or tuple(text_words[i:end]) != body:
        return False
    if not stem:
        return True
    return end < len(text_words) and text_words[end].startswith(phrase[-2])


def is_negated(text_words: Sequence[str], index: int, language: str) -> bool:
    """Whether a negator of `language` comes shortly before the word at `index`, with no punctuation between
    ("pas aimable", "pas du tout aimable"; not "pas adaptés, fermé")."""
    negators = NEGATORS.get(language, NEGATORS["en"])
    seen = 0
    j = index - 1
    while j >= 0 and seen < _NEGATION_SCOPE:
        word = text_words[j]
        if word in negators:
            return True
        if word not in _TRANSPARENT:
            if not word[0].isalnum():
                return False
            seen += 1
        j -= 1
    return False
