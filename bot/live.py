"""The templates and flow in force for each venue, reloaded when an admin saves, without a restart.

Every update reads `parole:overrides:revision` in the same round trip as the conversation; while it
does not move, the kits built for each scope are reused. When it moves, a scope's overrides are read
again (one round trip) and a kit is built only if what they say changed. A conversation keeps the
flow version it started on (`Conversation.flow_ref`): its engine is rebuilt from the history, which
never changes, so it is cached for good.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from bot.editing import Editor
from bot.errors import ParoleError
from bot.overrides import FLOW_DOCUMENT, Document, Scope
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
    """What one scope runs on: its renderer and engine, and the flow version conversations pin."""

    renderer: MessageRenderer
    engine: DialogEngine
    flow_ref: str


class LiveDialogs:
    """Kits per scope, cached by the overrides revision; the default kit when nothing is overridden."""

    def __init__(self, editor: Editor, default: ScopeKit, settings: EngineSettings) -> None:
        self.editor = editor
        self.default = default
        self.settings = settings
        self._revision = 0
        self._scopes: dict[Scope, ScopeKit] = {}
        self._by_content: dict[tuple[tuple[str, tuple[str, int]], ...], ScopeKit] = {}
        self._pinned: dict[str, DialogEngine] = {}

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
        kit = ScopeKit(MessageRenderer(texts.catalog), self.settings.engine(texts.flow), texts.flow_ref)
        if len(self._by_content) >= MAX_KITS:
            self._by_content.clear()
        self._by_content[key] = kit
        return kit

    async def pinned(self, kit: ScopeKit, flow_ref: str) -> DialogEngine:
        """The engine of a conversation that started on another flow version than the scope's current one."""
        if flow_ref == kit.flow_ref:
            return kit.engine
        if flow_ref == "":
            return self.default.engine
        engine = self._pinned.get(flow_ref)
        if engine is not None:
            return engine
        label, _, number = flow_ref.rpartition("@")
        try:
            document = Document(Scope.parse(label), FLOW_DOCUMENT)
            content = (await self.editor.overrides.version(document, int(number))).content
            if content is None:
                return kit.engine
            flow = self.editor.check_flow(await self.editor.texts(document.scope), content)
        except (ParoleError, DialogError, ValueError) as exc:
            log.warning(
                "a chat is pinned on flow %s, which cannot be loaded (%s): the current flow is used", flow_ref, exc
            )
            return kit.engine
        engine = self.settings.engine(flow)
        if len(self._pinned) >= MAX_KITS:
            self._pinned.clear()
        self._pinned[flow_ref] = engine
        return engine
