"""The core's texts (Telegram's HTML subset: <b>, <i> and entities) in WhatsApp's formatting, cut to its limits.

WhatsApp marks bold with `*` and italics with `_`, and renders a marker only against a non-space
character: `<b> a </b>` becomes ` *a* `, never `* a *`.
"""

from __future__ import annotations

import html
import re
from typing import Final

_MARKERS: Final = {"b": "*", "i": "_"}
_TAG: Final = re.compile(r"<(/?)([a-zA-Z]+)[^<>]*>")
_SPACES: Final = re.compile(r"\s+")


def to_whatsapp(text: str) -> str:
    """The HTML subset as WhatsApp's formatting, entities unescaped; tags other than <b> and <i> dropped."""
    stack: list[tuple[str, list[str]]] = [("", [])]
    position = 0
    for tag in _TAG.finditer(text):
        stack[-1][1].append(html.unescape(text[position : tag.start()]))
        position = tag.end()
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in _MARKERS:
            continue
        if not closing:
            stack.append((name, []))
        elif len(stack) > 1 and stack[-1][0] == name:
            _, parts = stack.pop()
            stack[-1][1].append(_wrapped("".join(parts), _MARKERS[name]))
    stack[-1][1].append(html.unescape(text[position:]))
    while len(stack) > 1:  # an unclosed tag: its text without the marker
        _, parts = stack.pop()
        stack[-1][1].append("".join(parts))
    return "".join(stack[0][1])


def _wrapped(inner: str, marker: str) -> str:
    core = inner.strip()
    if not core:
        return inner
    lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def cut(text: str, limit: int) -> str:
    """The text within `limit` characters, cut at a word with an ellipsis when it is longer."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def chunks(text: str, limit: int) -> list[str]:
    """The text in pieces of at most `limit` characters, split at line breaks where it can be."""
    pieces: list[str] = []
    while len(text) > limit:
        split = text.rfind("\n", 0, limit)
        if split <= 0:
            split = limit
        pieces.append(text[:split])
        text = text[split:].lstrip("\n")
    if text.strip() or not pieces:
        pieces.append(text)
    return pieces


def one_line(text: str, limit: int) -> str:
    """The text as a template parameter takes it: no line break or tab, no run of spaces, within `limit`."""
    flat = " · ".join(line.strip() for line in text.splitlines() if line.strip())
    return cut(_SPACES.sub(" ", flat), limit)
