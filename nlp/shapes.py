"""What a token looks like, for the entity rules: capitalised, a word, a name particle, a sentence start."""

from __future__ import annotations

from spacy.tokens import Token

from nlp.names import NAME_PARTICLES
from nlp.normalize import fold_word, word_set

__all__ = ["at_sentence_start", "capitalised", "is_joining_hyphen", "is_particle", "looks_like_verb", "wordlike"]

_SENTENCE_END = frozenset(".!?…;:\n")
_CLITICS = word_set("-vous -moi -nous -toi -le -la -les -en -y -il -elle -on -ils -elles -t-il -t-elle")
# French verb endings that the bare model takes for names at the start of a sentence ("Bloqué", "Nettoyer").
_VERB_ENDINGS = ("er", "ir", "é", "ée", "és", "ées", "ez")


def capitalised(token: Token) -> bool:
    """Starts with a capital letter: "Julien", "McDo", "RER", "Saint-Cyr-l'École"."""
    return token.text[:1].isupper()


def wordlike(token: Token) -> bool:
    """Has a letter or a digit (not punctuation, not an emoji)."""
    text = token.text
    return text.isalnum() or any(ch.isalnum() for ch in text)


def is_particle(token: Token) -> bool:
    """A lower-case word that may sit inside a name: "Gare du Nord", "Reflets de France"."""
    return fold_word(token.text) in NAME_PARTICLES


def is_joining_hyphen(token: Token) -> bool:
    """A hyphen inside a compound name ("Massy-Palaiseau"), not a dash between two ("Meaux - Paris")."""
    if token.text not in {"-", "\u2011"} or token.whitespace_:
        return False
    return token.i > 0 and not token.doc[token.i - 1].whitespace_


def at_sentence_start(token: Token) -> bool:
    """First word of the text or of a sentence (after . ! ? … ; : a line break, or an emoji)."""
    i = token.i
    while i > 0:
        previous = token.doc[i - 1]
        if previous.is_space:
            i -= 1
            continue
        return previous.text in _SENTENCE_END or (not wordlike(previous) and not previous.is_punct)
    return True


def looks_like_verb(token: Token) -> bool:
    """A French infinitive, participle or imperative by its ending, or a verb with a clitic ("Rendez-vous")."""
    following = token.doc[token.i + 1] if token.i + 1 < len(token.doc) else None
    if following is not None and not token.whitespace_ and following.lower_ in _CLITICS:
        return True
    return len(token.text) > 3 and token.is_alpha and fold_word(token.text).endswith(_VERB_ENDINGS_FOLDED)


_VERB_ENDINGS_FOLDED = tuple(sorted({fold_word(ending) for ending in _VERB_ENDINGS}))
