"""The words a WhatsApp customer types for the bot's commands, in French and in English.

WhatsApp has no command menu: a message that is only one of these words (accents, case and punctuation
aside) stands for the command, as `/name` does on Telegram (which still works here too)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from bot.seam.commands import FORGET, MY_DATA, STOP_NEWS

KEYWORDS: Final = {
    "help": ("aide", "help", "menu", "info", "infos"),
    "cancel": ("annuler", "annule", "cancel"),
    "language": ("langue", "language", "lang", "changer de langue", "change language"),
    MY_DATA: ("mes donnees", "my data", "mydata", "donnees"),
    FORGET: ("oublier", "oubliez moi", "oublie moi", "forget", "forget me", "effacer mes donnees", "delete my data"),
    STOP_NEWS: ("stop", "stop news", "stop actus", "stop nouvelles", "desabonner", "se desabonner", "unsubscribe"),
}
_COMMANDS: Final = {word: command for command, words in KEYWORDS.items() for word in words}
_NOT_WORDS: Final = re.compile(r"[^\w\s]+")
_SPACES: Final = re.compile(r"[\s_]+")


def normalised(text: str) -> str:
    """Lower case, no accents, no punctuation or emoji, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", _NOT_WORDS.sub(" ", bare)).strip()


def command_for(text: str) -> str | None:
    """The command a message stands for (`/forget`), or None for any other text."""
    if len(text) > 40:
        return None
    command = _COMMANDS.get(normalised(text))
    return f"/{command}" if command is not None else None
