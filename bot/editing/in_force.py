"""The templates and flow in force for each venue, reloaded when an admin saves, without a restart.

Every update reads `parole:overrides:revision` in the same round trip as the conversation; while it
does not move, the kits built for each scope are reused. When it moves, a scope's overrides are read
again (one round trip) and a kit is built only if what they say changed. A conversation keeps the
flow and template versions it started on (`Conversation.texts_ref`: the winning version of each
overridden document): its kit is rebuilt from the history, which never changes, so it is cached for good.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Final

from bot.editing.editor import Editor
from bot.editing.overrides import Document, Scope, Version
from bot.errors import ParoleError
from dialogs.engine import DialogEngine
from dialogs.errors import DialogError
from dialogs.flow import Flow
from dialogs.render import MessageRenderer
from dialogs.types import VenueRef

log = logging.getLogger(__name__)

#: How many built kits (catalog, renderer, engine) and pinned engines are kept.
MAX_KITS: Final = 64


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """The engine's settings from the configuration, the same for every scope."""

    max_text_length: int = 2000
    conversation_timeout: float = 1800.0
    duplicate_window_hours: float = 24.0

    def engine(self, flow: Flow) -> DialogEngine:
        return DialogEngine(
            flow,
            max_text_length=self.max_text_length,
            conversation_timeout=self.conversation_timeout,
            duplicate_window_hours=self.duplicate_window_hours,
        )


@dataclass(frozen=True, slots=True)
class ScopeKit:
    """What one scope runs on: its renderer and engine, the flow version, and the versions of every
    overridden document (`texts_ref`, "" for the files alone) that conversations pin."""

    renderer: MessageRenderer
    engine: DialogEngine
    flow_ref: str
    texts_ref: str = ""


class LiveDialogs:
    """Kits per scope, cached by the overrides revision; the default kit when nothing is overridden."""

    def __init__(self, editor: Editor, default: ScopeKit, settings: EngineSettings) -> None:
        self.editor = editor
        self.default = default
        self.settings = settings
        self._revision = 0
        self._scopes: dict[Scope, ScopeKit] = {}
        self._by_content: dict[tuple[tuple[str, tuple[str, int]], ...], ScopeKit] = {}
        self._pinned_kits: dict[tuple[Scope, str], ScopeKit] = {}

    @staticmethod
    def scope_of(venue: VenueRef | None) -> Scope:
        return Scope() if venue is None else Scope(venue.brand, venue.code)

    async def kit(self, venue: VenueRef | None, revision: int) -> ScopeKit:
        """The kit in force for a venue (None: before the venue is known) at this overrides revision."""
        return await self._kit(self.scope_of(venue), revision)

    async def renderer_for(self, brand: str, venue: str | None) -> MessageRenderer:
        """The renderer in force for a brand's venue (or the brand), off the customer's hot path: it reads
        the revision itself (one round trip)."""
        return (await self._kit(Scope(brand, venue), await self.editor.overrides.revision())).renderer

    async def _kit(self, scope: Scope, revision: int) -> ScopeKit:
        if revision == 0:
            return self.default  # nothing was ever overridden
        if revision != self._revision:
            self._revision = revision
            self._scopes.clear()
        kit = self._scopes.get(scope)
        if kit is None:
            kit = await self._build(scope)
            self._scopes[scope] = kit
        return kit

    async def _build(self, scope: Scope) -> ScopeKit:
        chain = (scope, *scope.wider())
        found = dict(zip(chain, await self.editor.overrides.scope_overrides(chain), strict=True))
        # Versions never change once saved, so the winning (scope, version) of each document names the
        # content: venues without overrides of their own share their brand's kit.
        winners: dict[str, tuple[str, int]] = {}
        for where in reversed(chain):
            for document, version in found[where].items():
                winners[document] = (where.label(), version.number)
        if not winners:
            return self.default
        key = tuple(sorted(winners.items()))
        kit = self._by_content.get(key)
        if kit is not None:
            return kit
        try:
            texts = self.editor.resolve(scope, found)
        except DialogError:
            log.exception("the overrides of %s no longer validate: the defaults are used", scope.label())
            return self.default
        texts_ref = json.dumps([[document, *winner] for document, winner in key])
        kit = ScopeKit(MessageRenderer(texts.catalog), self.settings.engine(texts.flow), texts.flow_ref, texts_ref)
        if len(self._by_content) >= MAX_KITS:
            self._by_content.clear()
        self._by_content[key] = kit
        return kit

    async def pinned_kit(self, venue: VenueRef | None, kit: ScopeKit, texts_ref: str) -> ScopeKit:
        """The kit of a conversation that started on other versions of the templates or flow than the
        venue's current ones (`kit`): rebuilt from those versions, which never change."""
        if texts_ref == kit.texts_ref:
            return kit
        if texts_ref == "":
            return self.default
        scope = self.scope_of(venue)
        cached = self._pinned_kits.get((scope, texts_ref))
        if cached is not None:
            return cached
        try:
            found: dict[Scope, dict[str, Version]] = {}
            for document, label, number in json.loads(texts_ref):
                where = Scope.parse(label)
                found.setdefault(where, {})[document] = await self.editor.overrides.version(
                    Document(where, document), int(number)
                )
            texts = self.editor.resolve(scope, found)
        except (ParoleError, DialogError, ValueError, TypeError) as exc:
            log.warning(
                "a chat is pinned on %s, which cannot be loaded (%s): the current texts are used", texts_ref, exc
            )
            return kit
        pinned = ScopeKit(MessageRenderer(texts.catalog), self.settings.engine(texts.flow), texts.flow_ref, texts_ref)
        if len(self._pinned_kits) >= MAX_KITS:
            self._pinned_kits.clear()
        self._pinned_kits[scope, texts_ref] = pinned
        return pinned
