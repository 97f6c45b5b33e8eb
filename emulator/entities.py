"""Message text with its entities, measured as Telegram does: in UTF-16 code units."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# What Telegram strips from both ends of a message after parsing its entities.
_TRIMMED = " \t\n\r\x0b\x0c"
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Plain text and its `MessageEntity` dicts, sorted by offset."""

    text: str
    entities: list[JsonDict] = field(default_factory=list)

    @property
    def length(self) -> int:
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """The length of `text` in UTF-16 code units (characters outside the BMP count twice)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def sort_entities(entities: list[JsonDict]) -> list[JsonDict]:
    """Telegram's order: by offset, the enclosing entity first."""
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


def trim(formatted: FormattedText) -> FormattedText:
    """Strip whitespace from both ends, as Telegram does, moving and clipping the entities to match."""
    text = formatted.text.lstrip(_TRIMMED)
    shift = utf16_len(formatted.text) - utf16_len(text)
    text = text.rstrip(_TRIMMED)
    end = utf16_len(text)
    entities: list[JsonDict] = []
    for entity in formatted.entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return FormattedText(text, sort_entities(entities))


def clip_entities(text: str, entities: list[JsonDict]) -> list[JsonDict]:
    """Explicit entities kept as Telegram keeps them: those outside the text dropped, the others clipped."""
    end = utf16_len(text)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(int(entity["offset"]), 0)
        stop = min(int(entity["offset"]) + int(entity["length"]), end)
        if stop > start:
            kept.append({**entity, "offset": start, "length": stop - start})
    return sort_entities(kept)


def command_entity(text: str) -> JsonDict | None:
    """The `bot_command` entity Telegram adds to a message starting with a command ("/start@bot")."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    return {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}
