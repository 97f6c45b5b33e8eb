"""Telegram's HTML parse mode: the tags and character references it accepts, its errors, its entities.

It follows the Bot API server's own parser: an unknown tag, an unclosed or unmatched tag is an error
(naming a byte offset in the UTF-8 text); an `&` that starts no known reference stays a literal `&`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# What Telegram strips from both ends of a message after parsing its entities.
_TRIMMED = " \t\n\r\x0b\x0c"


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


UserLookup = Callable[[int], JsonDict | None]

_SPACES = " \t\r\n\x0b\x0c"
_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "code", "pre", "blockquote", "tg-emoji", "tg-time",
    }
)  # fmt: skip
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MENTION = re.compile(r"tg://user\?id=(\d+)")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MONOSPACE = ("code", "pre")


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is Telegram's."""


@dataclass(slots=True)
class _OpenTag:
    name: str
    attributes: dict[str, str]
    offset: int  # UTF-16 offset in the output
    start: int  # index in the output characters
    begin: int  # index of "<" in the source, for error messages


@dataclass(slots=True)
class _Parser:
    source: str
    resolve_user: UserLookup | None
    out: list[str] = field(default_factory=list)
    offset: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[JsonDict] = field(default_factory=list)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8", "surrogatepass"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += utf16_len(text)

    def run(self) -> FormattedText:
        index, size = 0, len(self.source)
        while index < size:
            char = self.source[index]
            if char == "&":
                decoded = decode_reference(self.source, index)
                if decoded is not None:
                    self.emit(decoded[0])
                    index = decoded[1]
                    continue
            if char != "<":
                self.emit(char)
                index += 1
            elif index + 1 < size and self.source[index + 1] == "/":
                index = self.end_tag(index)
            else:
                index = self.start_tag(index)
        if self.stack:
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        return trim(FormattedText("".join(self.out), _drop_nested_in_monospace(sort_entities(self.entities))))

    def unclosed(self, begin: int) -> HtmlParseError:
        return HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")

    def start_tag(self, begin: int) -> int:
        source, size = self.source, len(self.source)
        index = begin + 1
        while index < size and source[index] not in _SPACES and source[index] != ">":
            index += 1
        if index >= size:
            raise self.unclosed(begin)
        name = source[begin + 1 : index].lower()
        if name not in _TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}')
        attributes: dict[str, str] = {}
        while True:
            while index < size and source[index] in _SPACES:
                index += 1
            if index >= size:
                raise self.unclosed(begin)
            if source[index] == ">":
                break
            index = self.attribute(name, begin, index, attributes)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}')
        self.stack.append(_OpenTag(name, attributes, self.offset, len(self.out), begin))
        return index + 1

    def attribute(self, tag: str, begin: int, index: int, attributes: dict[str, str]) -> int:
        source, size = self.source, len(self.source)
        name_start = index
        while index < size and source[index] not in _SPACES and source[index] not in "=>":
            index += 1
        name = source[name_start:index].lower()
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {self.byte_offset(begin)}')
        while index < size and source[index] in _SPACES:
            index += 1
        if index >= size:
            raise self.unclosed(begin)
        if source[index] != "=":
            if tag == "blockquote" and name == "expandable":
                attributes[name] = ""
                return index
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {self.byte_offset(begin)}"
            )
        index += 1
        while index < size and source[index] in _SPACES:
            index += 1
        if index >= size:
            raise self.unclosed(begin)
        if source[index] in "'\"":
            quote, index = source[index], index + 1
            value: list[str] = []
            while index < size and source[index] != quote:
                decoded = decode_reference(source, index) if source[index] == "&" else None
                if decoded is not None:
                    value.append(decoded[0])
                    index = decoded[1]
                else:
                    value.append(source[index])
                    index += 1
            if index >= size:
                raise self.unclosed(begin)
            attributes[name] = "".join(value)
            return index + 1
        token_start = index
        while index < size and ((source[index].isascii() and source[index].isalnum()) or source[index] in ".-"):
            index += 1
        if index >= size:
            raise self.unclosed(begin)
        if source[index] not in _SPACES and source[index] != ">":
            raise HtmlParseError(f"Unexpected end of name token at byte offset {self.byte_offset(token_start)}")
        attributes[name] = source[token_start:index].lower()
        return index

    def end_tag(self, begin: int) -> int:
        source, size = self.source, len(self.source)
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        index = begin + 2
        while index < size and source[index] not in _SPACES and source[index] != ">":
            index += 1
        name = source[begin + 2 : index].lower()
        while index < size and source[index] in _SPACES:
            index += 1
        if index >= size or source[index] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        tag = self.stack.pop()
        if name and name != tag.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        if self.offset > tag.offset:
            self.close(tag)
        return index + 1

    def close(self, tag: _OpenTag) -> None:
        span: JsonDict = {"offset": tag.offset, "length": self.offset - tag.offset}
        if tag.name in _SIMPLE:
            self.entities.append({"type": _SIMPLE[tag.name], **span})
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in tag.attributes else "blockquote"
            self.entities.append({"type": kind, **span})
        elif tag.name == "code":
            language = tag.attributes.get("class", "")
            entity: JsonDict = {"type": "code", **span}
            if language.startswith("language-") and len(language) > len("language-"):
                entity["language"] = language.removeprefix("language-")
            self.entities.append(entity)
        elif tag.name == "pre":
            self.close_pre(span)
        elif tag.name == "a":
            self.close_link(tag, span)
        elif tag.name == "tg-emoji":
            emoji_id = tag.attributes.get("emoji-id", "")
            if not emoji_id.isdigit() or int(emoji_id) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **span, "custom_emoji_id": emoji_id})
        else:  # tg-time
            unix = tag.attributes.get("unix", "")
            if not unix.isdigit():
                raise HtmlParseError("Invalid Unix time specified")
            entity = {"type": "date_time", **span, "unix_time": int(unix)}
            if tag.attributes.get("format"):
                entity["date_time_format"] = tag.attributes["format"]
            self.entities.append(entity)

    def close_pre(self, span: JsonDict) -> None:
        last = self.entities[-1] if self.entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (span["offset"], span["length"])
        ):
            self.entities.pop()  # <pre><code class="language-x">: one pre entity with its language
            if "language" in last:
                span = {**span, "language": last["language"]}
        self.entities.append({"type": "pre", **span})

    def close_link(self, tag: _OpenTag, span: JsonDict) -> None:
        url = tag.attributes.get("href", "") or "".join(self.out[tag.start :])
        mention = _MENTION.fullmatch(url)
        if mention is not None:
            user = self.resolve_user(int(mention.group(1))) if self.resolve_user else None
            if user is not None:
                self.entities.append({"type": "text_mention", **span, "user": user})
            return
        if not _SCHEME.match(url):
            url = f"http://{url}"
        if re.fullmatch(r"(?:https?|tg|ton)://[^\s]+", url) and ("." in url or url.startswith("tg://")):
            self.entities.append({"type": "text_link", **span, "url": url})
        # Telegram silently drops a link it cannot make sense of.


def decode_reference(source: str, index: int) -> tuple[str, int] | None:
    """The character a reference at `index` ("&lt;", "&#60;", "&#x3C;") stands for and the index after it.

    None when it is no reference Telegram knows; the `;` is optional, as in Telegram's parser.
    """
    size = len(source)
    end = index + 1
    if end < size and source[end] == "#":
        end += 1
        if end < size and source[end] == "x":
            end += 1
            digits_start = end
            while end < size and source[end] in "0123456789abcdefABCDEF":
                end += 1
            base = 16
        else:
            digits_start = end
            while end < size and source[end].isascii() and source[end].isdigit():
                end += 1
            base = 10
        digits = source[digits_start:end]
        if not digits or len(digits) > 7:
            return None
        code = int(digits, base)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < size and source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED.get(source[index + 1 : end])
        if named is None:
            return None
        char = named
    if end < size and source[end] == ";":
        end += 1
    return char, end


def _drop_nested_in_monospace(entities: list[JsonDict]) -> list[JsonDict]:
    """Telegram allows nothing inside code and pre."""
    blocks = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _MONOSPACE]
    kept: list[JsonDict] = []
    for entity in entities:
        start, stop = entity["offset"], entity["offset"] + entity["length"]
        inside = any(
            block_start <= start and stop <= block_stop and (start, stop) != (block_start, block_stop)
            for block_start, block_stop in blocks
        )
        same_span_code = entity["type"] == "code" and any(
            e["type"] == "pre" and (e["offset"], e["offset"] + e["length"]) == (start, stop) for e in entities
        )
        if not inside and not same_span_code:
            kept.append(entity)
    return kept


def parse_html(text: str, resolve_user: UserLookup | None = None) -> FormattedText:
    """Parse Telegram HTML into plain text and entities (trimmed as Telegram trims); raise HtmlParseError.

    `resolve_user` turns the id of a `tg://user?id=` link into a `User` dict (unknown users: no entity).
    """
    return _Parser(text, resolve_user).run()
