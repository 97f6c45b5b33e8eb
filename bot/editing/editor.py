"""Editing templates and flows: who may edit what, validation before every save, previews, history.

The one service the terminal, the Telegram admin commands and the web admin share. Nothing reaches the
override store without passing the same checks the shipped files pass at start-up (`dialogs.catalog`,
`dialogs.flow`), plus what Telegram itself would refuse (the emulator's HTML parser, button limits).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bot.editing.overrides import (
    FLOW_DOCUMENT,
    DiffLine,
    Document,
    OverrideStore,
    Scope,
    Version,
    diff,
    diff_lines,
    template_document,
)
from bot.errors import InvalidInput, NotFound, ParoleError, Problem, problem
from bot.storage.store import Store
from dialogs.catalog import TemplateCatalog, TemplateKind
from dialogs.engine import DialogEngine
from dialogs.errors import FlowError, TemplateError
from dialogs.flow import Flow, default_flow_path, parse_flow
from dialogs.render import MessageRenderer, RenderedMessage
from dialogs.telegram_html import HtmlParseError, parse_html
from dialogs.types import MessagePart, Reply

__all__ = ["Admin", "Editor", "EntryState", "Refused", "ScopeTexts", "template_parts"]

#: Telegram's limits on inline buttons: callback data 1-64 bytes; labels are cut on screen past ~64.
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_BUTTON_TEXT: Final = 64
# A channel's own limits on a rendered template: (text, buttons, is a label) → why it does not fit, or None.
ChannelCheck = Callable[[str, tuple[tuple[tuple[str, str], ...], ...], bool], Problem | str | None]
DEFAULT_FLOW_SOURCE: Final = "default.yaml"


class Refused(ParoleError):
    """Validation refused a text: nothing was saved. `line` is the line to blame, when there is one."""

    def __init__(self, reason: str | Problem, line: int | None = None) -> None:
        super().__init__(reason)
        self.problem = str(reason)
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}" if self.line is not None else self.problem


@dataclass(frozen=True, slots=True)
class Admin:
    """Someone editing: an operator (brand None: every scope), a brand admin (their brand only) or a venue
    room's admin (venue set: that venue only)."""

    name: str
    brand: str | None = None
    venue: str | None = None

    def may_edit(self, scope: Scope) -> bool:
        if self.brand is None:
            return True
        return scope.brand == self.brand and (self.venue is None or scope.venue == self.venue)


@dataclass(frozen=True, slots=True)
class ScopeTexts:
    """What a scope says: its resolved catalog and flow, and where each document comes from."""

    scope: Scope
    catalog: TemplateCatalog
    flow: Flow
    flow_text: str
    flow_ref: str  # "" for the default file, else `SCOPE@VERSION` (`bot.editing.in_force` pins conversations on it)
    origins: Mapping[str, tuple[Scope, Version]]  # document -> the scope and version that provide it


@dataclass(frozen=True, slots=True)
class EntryState:
    """One template in one language, as a scope sees it."""

    name: str
    language: str
    description: str
    origin: str  # "default", "global", "BRAND" or "BRAND/VENUE"
    version: int  # the active version in this scope (0: the text comes from elsewhere)


class Editor:
    """Validate, save, roll back and preview templates and flows for a scope."""

    def __init__(
        self,
        overrides: OverrideStore,
        store: Store,
        catalog: TemplateCatalog,
        *,
        flow_path: Path | None = None,
        channel_checks: Mapping[str, ChannelCheck] | None = None,
    ) -> None:
        """`channel_checks`: the limits of the customer channels that are on besides Telegram, by name."""
        self.overrides = overrides
        self.channel_checks = dict(channel_checks or {})
        self.store = store
        self.base = catalog
        path = flow_path or default_flow_path()
        self.default_flow_text = path.read_text(encoding="utf-8")
        self.default_flow = parse_flow(self.default_flow_text, source=DEFAULT_FLOW_SOURCE, catalog=catalog)

    # --- reading ------------------------------------------------------------------------------------

    async def check_scope(self, admin: Admin, scope: Scope) -> None:
        """Refuse a scope the admin may not edit, or one naming a brand or venue that does not exist."""
        if not admin.may_edit(scope):
            if admin.venue is None:
                text = "{admin} may edit only the brand {mine!r}, not {scope!r}"
                raise InvalidInput(
                    problem("edit_only_brand", text, admin=admin.name, mine=admin.brand, scope=scope.label())
                )
            text = "{admin} may edit only the venue {mine}, not {scope!r}"
            mine = f"{admin.brand}/{admin.venue}"
            raise InvalidInput(problem("edit_only_venue", text, admin=admin.name, mine=mine, scope=scope.label()))
        if scope.brand is not None:
            await self.store.get_brand(scope.brand)
        if scope.brand is not None and scope.venue is not None:
            await self.store.get_venue(scope.brand, scope.venue)

    def check_template_name(self, name: str, language: str) -> None:
        if name not in self.base.names:
            raise NotFound("template", name)
        if language not in self.base.languages:
            raise InvalidInput(
                problem(
                    "template_language",
                    "language {language!r} must be one of {languages}",
                    language=language,
                    languages=self.base.languages,
                )
            )

    async def texts(self, scope: Scope) -> ScopeTexts:
        """The catalog and flow in force for a scope (one round trip)."""
        chain = (scope, *scope.wider())
        found = await self.overrides.scope_overrides(chain)
        return self.resolve(scope, dict(zip(chain, found, strict=True)))

    def resolve(self, scope: Scope, found: Mapping[Scope, Mapping[str, Version]]) -> ScopeTexts:
        """Apply the overrides of a scope's chain (widest first, so the nearest wins) to the defaults.

        Raises:
            TemplateError, FlowError: a saved override no longer fits the shipped files.
        """
        origins: dict[str, tuple[Scope, Version]] = {}
        for where in reversed((scope, *scope.wider())):
            for document, version in found.get(where, {}).items():
                if version.content is not None:
                    origins[document] = (where, version)
        changes: dict[tuple[str, str], str] = {}
        for document, (_, version) in origins.items():
            kind, _, rest = document.partition(":")
            name, _, language = rest.partition(":")
            if kind == "template" and version.content is not None:
                changes[name, language] = version.content
        catalog = self.base.with_sources(changes)
        flow_origin = origins.get(FLOW_DOCUMENT)
        if flow_origin is None:
            flow = self.default_flow if catalog is self.base else self._flow(self.default_flow_text, catalog)
            return ScopeTexts(scope, catalog, flow, self.default_flow_text, "", origins)
        where, version = flow_origin
        assert version.content is not None
        flow = self._flow(version.content, catalog)
        return ScopeTexts(scope, catalog, flow, version.content, f"{where.label()}@{version.number}", origins)

    async def entries(self, scope: Scope) -> list[EntryState]:
        """Every template in every language, with the scope its text comes from."""
        texts = await self.texts(scope)
        result = []
        for entry in self.base.entries:
            for language in self.base.languages:
                origin = texts.origins.get(template_document(entry.name, language))
                where = origin[0].label() if origin else "default"
                number = origin[1].number if origin and origin[0] == scope else 0
                result.append(EntryState(entry.name, language, entry.description, where, number))
        return result

    async def latest_number(self, document: Document) -> int:
        """The newest version number of a document (0: never saved): the `expected` of the next save."""
        latest = await self.overrides.latest(document)
        return latest.number if latest else 0

    async def template_source(self, scope: Scope, name: str, language: str) -> str:
        """The text in force for a template in a scope (the French one when the language has none)."""
        self.check_template_name(name, language)
        catalog = (await self.texts(scope)).catalog
        return catalog.source(name, language) if catalog.has(name, language) else catalog.source(name, "fr")

    async def version_text(self, document: Document, number: int) -> str:
        """The text of a version; version 0 (or a removal) is what the wider scopes say."""
        if number != 0:
            content = (await self.overrides.version(document, number)).content
            if content is not None:
                return content
        wider = document.scope.wider()
        if not wider:
            return self._default_text(document.name)
        texts = await self.texts(wider[0])
        if document.name == FLOW_DOCUMENT:
            return texts.flow_text
        name, language = template_parts(document.name)
        return texts.catalog.source(name, language) if texts.catalog.has(name, language) else ""

    def _default_text(self, document: str) -> str:
        if document == FLOW_DOCUMENT:
            return self.default_flow_text
        name, language = template_parts(document)
        return self.base.source(name, language) if self.base.has(name, language) else ""

    async def diff(self, document: Document, old: int, new: int) -> str:
        """A unified diff between two versions (0: the default)."""
        before = await self.version_text(document, old)
        after = await self.version_text(document, new)
        return diff(before, after, old_label=f"version {old}", new_label=f"version {new}")

    async def diff_lines(self, document: Document, old: int, new: int) -> list[DiffLine]:
        """The lines that differ between two versions (0: the default), with a few around them, to show."""
        return diff_lines(await self.version_text(document, old), await self.version_text(document, new))

    # --- validation -----------------------------------------------------------------------------------

    def check_template(self, texts: ScopeTexts, name: str, language: str, source: str) -> TemplateCatalog:
        """The scope's catalog with the new source, if it passes every check.

        Raises:
            Refused: why, with the line when one is to blame.
        """
        self.check_template_name(name, language)
        try:
            catalog = texts.catalog.with_source(name, language, source)
            engine = DialogEngine(texts.flow)
            preview = _preview(catalog, engine, name, language)
        except TemplateError as refused:
            raise Refused(refused.reason, refused.line) from None
        if catalog.kind(name) is TemplateKind.MESSAGE:
            try:
                parse_html(preview.text)
            except HtmlParseError as refused:
                raise Refused(
                    problem("telegram_html", "Telegram would refuse this HTML: {error}", error=str(refused))
                ) from None
        if catalog.kind(name) is TemplateKind.BUTTON and len(preview.text) > MAX_BUTTON_TEXT:
            raise Refused(
                problem(
                    "button_too_long",
                    "a button label of {length} characters: at most {most}",
                    length=len(preview.text),
                    most=MAX_BUTTON_TEXT,
                )
            )
        _check_buttons(preview)
        kind = catalog.kind(name)
        if kind in (TemplateKind.MESSAGE, TemplateKind.BUTTON):
            for channel, check in self.channel_checks.items():
                found = check(preview.text, preview.buttons, kind is TemplateKind.BUTTON)
                if found is not None:
                    raise Refused(
                        problem("channel_limit", "{problem} ({channel} is on)", problem=found, channel=channel)
                    )
        return catalog

    def check_flow(self, texts: ScopeTexts, text: str) -> Flow:
        """The flow, if it parses and validates against the scope's templates.

        Raises:
            Refused: why, with the line when one is to blame.
        """
        try:
            flow = parse_flow(text, source="flow", catalog=texts.catalog)
            engine = DialogEngine(flow)
            for step in flow.steps:
                _check_buttons(_preview(texts.catalog, engine, step.template, flow.languages[0]))
        except FlowError as refused:
            raise Refused(refused.reason, refused.line) from None
        except TemplateError as refused:
            raise Refused(
                problem("flow_template", "{template}: {problem}", template=refused.template, problem=refused.reason)
            ) from None
        return flow

    def _flow(self, text: str, catalog: TemplateCatalog) -> Flow:
        return parse_flow(text, source="flow", catalog=catalog)

    # --- changing ---------------------------------------------------------------------------------------

    async def set_template(
        self, admin: Admin, scope: Scope, name: str, language: str, source: str, *, expected: int
    ) -> Version:
        """Validate and save a template's new text in a scope, on top of version `expected`.

        Raises:
            Refused, InvalidInput, NotFound, VersionConflict: nothing was saved.
        """
        await self.check_scope(admin, scope)
        self.check_template(await self.texts(scope), name, language, _clean(source))
        document = Document(scope, template_document(name, language))
        return await self.overrides.save(document, _clean(source), author=admin.name, expected=expected)

    async def set_flow(self, admin: Admin, scope: Scope, text: str, *, expected: int) -> Version:
        """Validate and save a scope's flow on top of version `expected`."""
        await self.check_scope(admin, scope)
        self.check_flow(await self.texts(scope), text)
        return await self.overrides.save(Document(scope, FLOW_DOCUMENT), text, author=admin.name, expected=expected)

    async def rollback(self, admin: Admin, document: Document, to: int, *, expected: int) -> Version:
        """Make an older version active again (0: the wider scope's text), validated as a new save would be."""
        await self.check_scope(admin, document.scope)
        if to != 0:
            content = (await self.overrides.version(document, to)).content
            if content is not None:
                texts = await self.texts(document.scope)
                if document.name == FLOW_DOCUMENT:
                    self.check_flow(texts, content)
                else:
                    name, language = template_parts(document.name)
                    self.check_template(texts, name, language, content)
        return await self.overrides.rollback(document, to, author=admin.name, expected=expected)

    async def preview(self, scope: Scope, name: str, language: str, source: str | None = None) -> RenderedMessage:
        """A template rendered as a customer of the scope would see it, with its buttons: the scope's own brand
        and venue names (`preview_values`), the catalog's samples for the rest.

        Raises:
            Refused: the source (when given) does not pass validation.
        """
        texts = await self.texts(scope)
        catalog = texts.catalog if source is None else self.check_template(texts, name, language, _clean(source))
        try:
            return _preview(catalog, DialogEngine(texts.flow), name, language, await self.preview_values(scope, name))
        except TemplateError as refused:
            raise Refused(refused.reason, refused.line) from None

    async def preview_values(self, scope: Scope, name: str) -> dict[str, Any]:
        """The values a template's preview uses: the scope's brand and venue (a brand's first venue) where the
        template reads them, the catalog's samples for every other variable (and for the global scope)."""
        values = dict(self.base.sample_variables(name))
        if scope.brand is None:
            return values
        real = {"brand_name": (await self.store.get_brand(scope.brand)).name}
        if scope.venue is not None:
            real["venue_name"] = (await self.store.get_venue(scope.brand, scope.venue)).name
        elif venues := await self.store.list_venues(scope.brand):
            real["venue_name"] = venues[0].name
        values.update({key: value for key, value in real.items() if key in values})
        return values


def template_parts(document: str) -> tuple[str, str]:
    """(name, language) of a `template:NAME:LANG` document."""
    _, name, language = document.split(":")
    return name, language


def _clean(source: str) -> str:
    """Line ends as Unix ones (a browser's textarea sends \\r\\n), no trailing blank lines."""
    return source.replace("\r\n", "\n").replace("\r", "\n").rstrip() + "\n"


def _preview(
    catalog: TemplateCatalog, engine: DialogEngine, name: str, language: str, values: Mapping[str, Any] | None = None
) -> RenderedMessage:
    part = MessagePart(name, catalog.sample_variables(name) if values is None else values)
    return MessageRenderer(catalog).render_reply(Reply((part,), engine.keyboard_for(name)), language)


def _check_buttons(message: RenderedMessage) -> None:
    for row in message.buttons:
        for label, data in row:
            if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise Refused(
                    problem(
                        "callback_data",
                        "the callback data {data!r} must be 1-{most} bytes",
                        data=data,
                        most=MAX_CALLBACK_DATA_BYTES,
                    )
                )
            if not label.strip() or len(label) > MAX_BUTTON_TEXT:
                raise Refused(
                    problem(
                        "button_label",
                        "the button label {label!r} must be 1-{most} characters",
                        label=label,
                        most=MAX_BUTTON_TEXT,
                    )
                )
