"""What a rendered message may contain: the part of Telegram's HTML parse mode our templates use.

Messages may use <b> and <i> (no attributes, properly nested) and the entities Telegram knows
(&lt; &gt; &amp; &quot; and numeric ones); a bare <, > or & is refused, as Telegram refuses it.
Button labels and notices are plain text: Telegram shows them literally, so markup there is a mistake.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ALLOWED_TAGS", "html_problem", "plain_problem"]

ALLOWED_TAGS: Final = frozenset({"b", "i"})
_KNOWN_ENTITIES: Final = frozenset({"lt", "gt", "amp", "quot"})
_TOKEN: Final = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)(?P<rest>[^<>]*)>"
    r"|&(?P<entity>#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);"
    r"|(?P<bare>[<>&])"
)
_MARKUP: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")


def html_problem(text: str) -> str | None:
    """Say what Telegram would refuse in this HTML message, or None when it is fine."""
    open_tags: list[str] = []
    for token in _TOKEN.finditer(text):
        if token.group("bare"):
            char = token.group("bare")
            escaped = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}[char]
            return f"a bare '{char}' must be written {escaped}"
        entity = token.group("entity")
        if entity is not None:
            if not entity.startswith("#") and entity not in _KNOWN_ENTITIES:
                return f"the entity &{entity}; is not one Telegram knows (use &lt; &gt; &amp; &quot;)"
            continue
        tag = token.group("tag").lower()
        if tag not in ALLOWED_TAGS:
            return f"the tag <{tag}> is not allowed (only <b> and <i>)"
        if token.group("rest").strip():
            return f"the tag <{tag}> takes no attributes"
        if not token.group("close"):
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            return f"</{tag}> closes a tag that is not open"
    if open_tags:
        return f"<{open_tags[-1]}> is never closed"
    return None


def plain_problem(text: str) -> str | None:
    """Say why a plain-text label would show markup literally, or None when it is fine."""
    found = _MARKUP.search(text)
    if found is not None:
        return f"plain text shows markup as typed: remove {found.group(0)!r}"
    return None
