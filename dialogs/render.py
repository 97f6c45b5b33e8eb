"""Turning the engine's replies into text and buttons, in the customer's language, through the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from dialogs.catalog import FALLBACK_LANGUAGE, TemplateCatalog, TemplateKind, default_templates_dir
from dialogs.sandbox import compile_template, make_environment, render_template
from dialogs.types import MessagePart, Reply

# The catalog is re-exported here too: the renderer and its catalog are usually wanted together.
__all__ = ["MessageRenderer", "RenderedMessage", "TemplateCatalog", "default_templates_dir"]

PART_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A reply ready for the Bot API: HTML text and rows of (label, callback data) buttons."""

    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


class MessageRenderer:
    """Render message parts with a catalog's templates; compiled templates are kept for reuse.

    Messages are Telegram HTML (variables escaped); button labels and notices are plain text. A template
    missing in the customer's language is taken in French.
    """

    def __init__(self, catalog: TemplateCatalog) -> None:
        self._catalog = catalog
        self._html = make_environment(html=True)
        self._plain = make_environment(html=False)
        self._compiled: dict[tuple[str, str, bool], jinja2.Template] = {}

    @property
    def catalog(self) -> TemplateCatalog:
        """The catalog the renderer reads its templates from."""
        return self._catalog

    def render(self, part: MessagePart, language: str) -> str:
        """Render one part: HTML for a message template, plain text for a button or notice template.

        Raises:
            TemplateError: the template is unknown, or rendering failed (a missing variable…).
        """
        html = self._catalog.kind(part.template) is TemplateKind.MESSAGE
        return self._render(part, language, html=html)

    def render_label(self, part: MessagePart, language: str) -> str:
        """Render a button label as plain text: Telegram shows button text literally, unescaped."""
        return self._render(part, language, html=False)

    def render_reply(self, reply: Reply, language: str) -> RenderedMessage:
        """Render a whole reply: its parts joined by a blank line, and its buttons."""
        text = PART_SEPARATOR.join(self.render(part, language) for part in reply.parts)
        buttons = tuple(
            tuple((self.render_label(button.label, language), button.data) for button in row) for row in reply.buttons
        )
        return RenderedMessage(text=text, buttons=buttons)

    def _render(self, part: MessagePart, language: str, *, html: bool) -> str:
        name = part.template
        if not self._catalog.has(name, language):
            self._catalog.entry(name)  # an unknown name is an error, not a reason to fall back
            language = FALLBACK_LANGUAGE
        template = self._template(name, language, html=html)
        return render_template(template, part.variables, name=name, language=language)

    def _template(self, name: str, language: str, *, html: bool) -> jinja2.Template:
        key = (name, language, html)
        template = self._compiled.get(key)
        if template is None:
            env = self._html if html else self._plain
            source = self._catalog.source(name, language)
            template = compile_template(env, source, name=name, language=language)
            self._compiled[key] = template
        return template
