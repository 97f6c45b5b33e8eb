"""A venue's `wa.me` link: the chat with the business number opens with a text carrying the venue's short code."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

from dialogs.answers import normalise_venue_code

# The prefilled text the customer sends: what it says matters less than the `#CODE` it carries.
PREFILLED: Final = "Bonjour ! Je donne mon avis (code #{code})"
_CODE_MARK: Final = re.compile(r"#\s?([A-Za-z0-9]{3}[\s-]?[A-Za-z0-9]{3})\b")


def whatsapp_link(number: str, short_code: str) -> str:
    """`https://wa.me/<number>?text=<prefilled text with the short code>`."""
    return f"https://wa.me/{number}?text={quote(PREFILLED.format(code=short_code), safe='')}"


def code_in(text: str) -> str | None:
    """The short code a message carries as `#CODE` (the prefilled text, kept or retyped), if any."""
    for found in _CODE_MARK.finditer(text):
        code = normalise_venue_code(found.group(1))
        if code is not None:
            return code
    return None
