"""What a rendered message may contain: the part of Telegram's HTML parse mode our templates use.

Messages may use <b> and <i> (no attributes, properly nested) and the entities Telegram knows
(&lt; &gt; &amp; &quot; and numeric ones); a bare <, > or & is refused, as Telegram refuses it.
Button labels and notices are plain text: Telegram shows them literally, so markup there is a mistake.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Final

from dialogs.errors import Problem, problem

__all__ = [
    "ALLOWED_TAGS",
    "ELLIPSIS",
    "MAX_MESSAGE_UNITS",
    "HtmlScan",
    "fit_html",
    "html_problem",
    "plain_problem",
    "scan_html",
    "utf16_len",
    "visible_length",
]

ALLOWED_TAGS: Final = frozenset({"b", "i"})
MAX_MESSAGE_UNITS: Final = 4096  # Telegram's limit on a message's text, in UTF-16 units of its visible text
ELLIPSIS: Final = "…"
_KNOWN_ENTITIES: Final = frozenset({"lt", "gt", "amp", "quot"})
_TOKEN: Final = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)(?P<rest>[^<>]*)>"
    r"|&(?P<entity>#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);"
    r"|(?P<bare>[<>&])"
)
_MARKUP: Final = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")


@dataclass(frozen=True, slots=True)
class HtmlScan:
    """A piece of a message's HTML: what is wrong with it, its tags in order, its visible length."""

    problem: Problem | None
    tags: tuple[tuple[bool, str], ...]  # (closing, tag name)
    visible: int  # UTF-16 units Telegram counts: tags left out, each entity one character


def utf16_len(text: str) -> int:
    """The length of `text` in UTF-16 code units, as Telegram measures messages."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def scan_html(text: str) -> HtmlScan:
    """Read a piece of HTML; tags are not matched here (a piece may open what another closes)."""
    tags: list[tuple[bool, str]] = []
    visible = 0
    position = 0
    for token in _TOKEN.finditer(text):
        visible += utf16_len(text[position : token.start()])
        position = token.end()
        if token.group("bare"):
            char = token.group("bare")
            escaped = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}[char]
            return HtmlScan(
                problem("bare_char", "a bare '{char}' must be written {escaped}", char=char, escaped=escaped), (), 0
            )
        entity = token.group("entity")
        if entity is not None:
            if not entity.startswith("#") and entity not in _KNOWN_ENTITIES:
                text = "the entity &{entity}; is not one Telegram knows (use &lt; &gt; &amp; &quot;)"
                return HtmlScan(problem("unknown_entity", text, entity=entity), (), 0)
            visible += utf16_len(html.unescape(token.group(0)))
            continue
        tag = token.group("tag").lower()
        if tag not in ALLOWED_TAGS:
            return HtmlScan(
                problem("tag_forbidden", "the tag <{tag}> is not allowed (only <b> and <i>)", tag=tag), (), 0
            )
        if token.group("rest").strip():
            return HtmlScan(problem("tag_attributes", "the tag <{tag}> takes no attributes", tag=tag), (), 0)
        tags.append((bool(token.group("close")), tag))
    visible += utf16_len(text[position:])
    return HtmlScan(None, tuple(tags), visible)


def html_problem(text: str) -> Problem | None:
    """Say what Telegram would refuse in this HTML message, or None when it is fine."""
    scan = scan_html(text)
    if scan.problem is not None:
        return scan.problem
    open_tags: list[str] = []
    for closing, tag in scan.tags:
        if not closing:
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            return problem(
                "tag_not_open", "</{tag}> closes a tag that is not open (on some path through the template)", tag=tag
            )
    if open_tags:
        return problem(
            "tag_never_closed",
            "<{stack}> is never closed on some path through the template's conditions",
            stack=open_tags[-1],
        )
    return None


def visible_length(text: str) -> int:
    """The length Telegram gives a valid HTML message: UTF-16 units of its text without the tags."""
    return scan_html(text).visible


def plain_problem(text: str) -> Problem | None:
    """Say why a plain-text label would show markup literally, or None when it is fine."""
    found = _MARKUP.search(text)
    if found is not None:
        return problem("plain_markup", "plain text shows markup as typed: remove {markup!r}", markup=found.group(0))
    return None


def fit_html(text: str, limit: int = MAX_MESSAGE_UNITS) -> str:
    """Cut an HTML message so that Telegram's count of its visible text (UTF-16 units) is at most `limit`.

    A message that fits is returned as it is. A longer one ends with a visible "…" where it was cut: never
    inside a tag or an entity, never between the halves of a surrogate pair; the tags open at the cut are
    closed, so a valid message stays valid.
    """
    if visible_length(text) <= limit:
        return text
    budget = limit - utf16_len(ELLIPSIS)
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    position = 0

    def take(plain: str) -> bool:
        """Add as much of `plain` as the budget allows; False once it is spent."""
        nonlocal used
        for index, char in enumerate(plain):
            units = 2 if ord(char) > 0xFFFF else 1
            if used + units > budget:
                out.append(plain[:index])
                return False
            used += units
        out.append(plain)
        return True

    for token in _TOKEN.finditer(text):
        if not take(text[position : token.start()]):
            break
        position = token.end()
        piece = token.group(0)
        if token.group("tag") is not None:
            tag = token.group("tag").lower()
            if token.group("close"):
                if tag in open_tags:
                    del open_tags[len(open_tags) - 1 - open_tags[::-1].index(tag)]
            else:
                open_tags.append(tag)
            out.append(piece)
            continue
        units = utf16_len(html.unescape(piece)) if token.group("entity") is not None else 1
        if used + units > budget:
            break
        used += units
        out.append(piece)
    else:
        take(text[position:])
    return "".join(out).rstrip() + ELLIPSIS + "".join(f"</{tag}>" for tag in reversed(open_tags))
