"""Message text with its entities, measured as Telegram does: in UTF-16 code units."""

from __future__ import annotations

import re

from dialogs.telegram_html import JsonDict, sort_entities, utf16_len

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


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
