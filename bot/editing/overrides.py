"""Versioned overrides of message templates and dialog flows in Redis: global, per brand, per venue.

A document is one template in one language (`template:NAME:LANG`) or a scope's flow (`flow`). Every
save appends a version (author, time, content) to the document's history and makes it active; a
rollback appends a copy of an older version; version 0 is the default (the files), and content None
in a version means "back to what the wider scope says". Saves are compare-and-set on the version the
author last saw, so of two concurrent saves the second is refused and shown the newer version.
Resolution: venue > brand > global > the default files.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, cast

from redis.asyncio import Redis

from bot.errors import InvalidInput, NotFound, ParoleError, problem
from bot.storage import keys
from bot.storage.venues import check_brand_code

__all__ = [
    "FLOW_DOCUMENT",
    "DiffLine",
    "Document",
    "OverrideStore",
    "Scope",
    "Version",
    "VersionConflict",
    "diff_lines",
    "template_document",
]

FLOW_DOCUMENT: Final = "flow"
#: The longest text an override may hold (a template is short; a flow a few kilobytes).
MAX_CONTENT_LENGTH: Final = 20_000
MAX_AUTHOR_LENGTH: Final = 80

# KEYS: the scope's active hash, the document's history. ARGV: document, expected version, entry, 1 if
# the entry removes the override. The version is checked and written in one step: no lost update.
_SAVE: Final = """
local count = redis.call('LLEN', KEYS[2])
if count ~= tonumber(ARGV[2]) then return count end
redis.call('RPUSH', KEYS[2], ARGV[3])
if ARGV[4] == '1' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return -1
"""


class Action(StrEnum):
    """How a version came to be."""

    SAVE = "save"
    ROLLBACK = "rollback"
    RESET = "reset"  # back to the wider scope's text (rollback to version 0)


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an override applies: everywhere (no brand), a brand, or one venue of a brand."""

    brand: str | None = None
    venue: str | None = None

    def __post_init__(self) -> None:
        if self.venue is not None and self.brand is None:
            raise InvalidInput(problem("venue_needs_brand", "a venue override needs its brand (--brand)"))
        if self.brand is not None:
            check_brand_code(self.brand)

    @property
    def key(self) -> str:
        return keys.overrides(self.brand, self.venue)

    def wider(self) -> tuple[Scope, ...]:
        """The scopes this one falls back to, nearest first (a venue: its brand, then global)."""
        if self.venue is not None:
            return (Scope(self.brand), Scope())
        if self.brand is not None:
            return (Scope(),)
        return ()

    def label(self) -> str:
        if self.brand is None:
            return "global"
        return self.brand if self.venue is None else f"{self.brand}/{self.venue}"

    @classmethod
    def parse(cls, label: str) -> Scope:
        """The scope named by `label()`: `global`, `BRAND` or `BRAND/VENUE`."""
        if label == "global":
            return cls()
        brand, _, venue = label.partition("/")
        return cls(brand, venue or None)


def template_document(name: str, language: str) -> str:
    return f"template:{name}:{language}"


@dataclass(frozen=True, slots=True)
class Document:
    """One overridable document in one scope."""

    scope: Scope
    name: str  # `template:NAME:LANG` or `flow`

    @property
    def history_key(self) -> str:
        return keys.override_history(self.scope.key, self.name)

    def describe(self) -> str:
        return f"{self.name} ({self.scope.label()})"


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a document: content None means the override was removed (the default applies)."""

    number: int
    author: str
    at: float
    action: Action
    content: str | None
    source: int | None = None  # the version a rollback copied

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.number,
            "author": self.author,
            "at": self.at,
            "action": self.action.value,
            "content": self.content,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Version:
        source = data.get("source")
        return cls(
            number=int(data["version"]),
            author=str(data["author"]),
            at=float(data["at"]),
            action=Action(data["action"]),
            content=None if data.get("content") is None else str(data["content"]),
            source=None if source is None else int(source),
        )


class VersionConflict(ParoleError):
    """Someone saved a newer version since the author loaded theirs: nothing was saved."""

    def __init__(self, document: Document, expected: int, current: Version | None) -> None:
        number = current.number if current is not None else 0
        text = (
            "{document} is at version {number} now, not {expected}: someone saved it meanwhile; "
            "nothing was saved — look at the newer version and save again on top of it"
        )
        super().__init__(
            problem("version_conflict", text, document=document.describe(), number=number, expected=expected)
        )
        self.document = document
        self.expected = expected
        self.current = current


class OverrideStore:
    """Read and write versioned overrides; every change bumps `parole:overrides:revision`."""

    def __init__(self, redis: Redis, *, clock: Any = time.time) -> None:
        self.redis = redis
        self.clock = clock
        self._save_script = redis.register_script(_SAVE)

    async def revision(self) -> int:
        return int(await self.redis.get(keys.OVERRIDES_REVISION) or 0)

    async def active(self, document: Document) -> Version | None:
        """The version in force in this scope (None: nothing saved here, a wider scope or the default applies)."""
        raw = await self.redis.hget(document.scope.key, document.name)
        return Version.from_json(json.loads(raw)) if raw else None

    async def latest(self, document: Document) -> Version | None:
        """The newest version (a removal included), or None when the document was never saved."""
        raw = await self.redis.lindex(document.history_key, -1)
        return Version.from_json(json.loads(raw)) if raw else None

    async def history(self, document: Document) -> list[Version]:
        """Every version, oldest first."""
        return [Version.from_json(json.loads(raw)) for raw in await self.redis.lrange(document.history_key, 0, -1)]

    async def version(self, document: Document, number: int) -> Version:
        if number < 1:
            raise InvalidInput(
                problem(
                    "version_zero",
                    "version {number} does not exist: versions start at 1 (0 is the default)",
                    number=number,
                )
            )
        raw = await self.redis.lindex(document.history_key, number - 1)
        if raw is None:
            raise NotFound("version", f"{number}, {document.describe()}")
        return Version.from_json(json.loads(raw))

    async def scope_overrides(self, scopes: tuple[Scope, ...]) -> list[dict[str, Version]]:
        """The active overrides of several scopes, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.hgetall(scope.key)
            results = await pipe.execute()
        return [{name: Version.from_json(json.loads(raw)) for name, raw in found.items()} for found in results]

    async def save(
        self,
        document: Document,
        content: str | None,
        *,
        author: str,
        expected: int,
        action: Action = Action.SAVE,
        source: int | None = None,
    ) -> Version:
        """Append a version if the newest one is still `expected` (0: never saved); make it active.

        The content must have been validated by the caller (`bot.editing.editor`).

        Raises:
            VersionConflict: a newer version was saved meanwhile; nothing changed.
            InvalidInput: the author or the content is not acceptable.
        """
        author = " ".join(author.split())
        if not author or len(author) > MAX_AUTHOR_LENGTH:
            raise InvalidInput(
                problem("author_length", "the author must be 1-{most} characters", most=MAX_AUTHOR_LENGTH)
            )
        if content is not None and len(content) > MAX_CONTENT_LENGTH:
            raise InvalidInput(
                problem(
                    "override_too_long",
                    "{length} characters: an override holds at most {most}",
                    length=len(content),
                    most=MAX_CONTENT_LENGTH,
                )
            )
        if expected < 0:
            raise InvalidInput(problem("expected_negative", "the expected version cannot be negative"))
        version = Version(expected + 1, author, float(self.clock()), action, content, source)
        entry = json.dumps(version.to_json(), ensure_ascii=False)
        removes = "1" if content is None else "0"
        found = await self._save_script(
            keys=[document.scope.key, document.history_key], args=[document.name, expected, entry, removes]
        )
        if int(found) != -1:
            raise VersionConflict(document, expected, await self.latest(document))
        # After the document (another slot in a cluster): a process that reloads in between reads the new
        # version already, and reloads once more when it sees the new revision.
        await self.redis.incr(keys.OVERRIDES_REVISION)
        return version

    async def rollback(self, document: Document, to: int, *, author: str, expected: int) -> Version:
        """Make version `to` active again as a new version (0: back to the default, the override removed)."""
        if to == 0:
            return await self.save(document, None, author=author, expected=expected, action=Action.RESET, source=0)
        old = await self.version(document, to)
        return await self.save(
            document, old.content, author=author, expected=expected, action=Action.ROLLBACK, source=to
        )

    async def documents(self, scope: Scope) -> list[str]:
        """The documents with an active override in a scope, sorted."""
        return sorted(cast(dict[str, str], await self.redis.hgetall(scope.key)))


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a diff as a person reads it: kept, removed or added, with its numbers in the old and new
    texts; a `skipped` line stands for that many unchanged lines left out."""

    kind: str  # "same", "removed", "added" or "skipped"
    text: str
    old: int | None = None
    new: int | None = None
    skipped: int = 0


def diff_lines(old: str, new: str, *, context: int = 3) -> list[DiffLine]:
    """The changes from `old` to `new`, line by line, with `context` unchanged lines around each ([] when equal)."""
    before, after = old.splitlines(), new.splitlines()
    result: list[DiffLine] = []
    shown = 0  # lines of `before` accounted for
    for group in difflib.SequenceMatcher(None, before, after, autojunk=False).get_grouped_opcodes(context):
        if group[0][1] > shown:
            result.append(DiffLine("skipped", "", skipped=group[0][1] - shown))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                result += [DiffLine("same", before[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            result += [DiffLine("removed", before[i], old=i + 1) for i in range(i1, i2)]
            result += [DiffLine("added", after[j], new=j + 1) for j in range(j1, j2)]
        shown = group[-1][2]
    if result and shown < len(before):
        result.append(DiffLine("skipped", "", skipped=len(before) - shown))
    return result


def diff(old: str, new: str, *, old_label: str, new_label: str) -> str:
    """A unified diff of two texts ("" when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=old_label, tofile=new_label
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
