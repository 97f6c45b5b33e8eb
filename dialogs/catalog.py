"""The catalog of message templates: every name, what it is for, its variables, its source per language.

On disk (`templates/bot/` by default)::

    catalog.yaml        # name -> description, variables with sample values, kind
    fr/<name>.j2        # French: the fallback language, it has every template
    en/<name>.j2        # other languages may leave some out (French is used instead)

`catalog.yaml` maps each template name to::

    greeting:
      description: First message after a scan; names the venue.
      variables: {venue_name: "Quick Massy", brand_name: "Quick"}   # name -> sample value
      kind: message      # message (Telegram HTML, the default) | button (plain label) | notice (plain toast)
                         # | printed (a plain line on a poster)

`limits.yaml` beside it says the most each variable can hold, by name (`dialogs.bounds.Limit`).

Building a catalog validates every template: it must read only the variables its entry declares, use only
what `dialogs.bounds` allows, stay within Telegram's limit and its HTML rules for every value of those
variables, compile in the sandbox, and render with the sample values.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import jinja2

from dialogs.bounds import Limit, check_bounds, shape_of
from dialogs.errors import CatalogError, Problem, TemplateError, problem
from dialogs.markup import html_problem, plain_problem, visible_length
from dialogs.sandbox import compile_template, make_environment, parse_template, render_template, template_variables
from dialogs.yamlnodes import NodeReader

__all__ = [
    "CATALOG_FILE",
    "FALLBACK_LANGUAGE",
    "CatalogEntry",
    "TemplateCatalog",
    "TemplateKind",
    "default_templates_dir",
    "parse_catalog",
    "parse_limits",
    "template_languages",
]

FALLBACK_LANGUAGE: Final = "fr"
CATALOG_FILE: Final = "catalog.yaml"
LIMITS_FILE: Final = "limits.yaml"
TEMPLATE_SUFFIX: Final = ".j2"
#: Where the bot's message templates live inside a templates directory (beside web pages).
BOT_SUBDIRECTORY: Final = "bot"
#: Telegram's limits: a message's text, and the text of a callback answer (a notice).
MAX_MESSAGE_LENGTH: Final = 4096
MAX_NOTICE_LENGTH: Final = 200

_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_VARIABLE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LANGUAGE: Final = re.compile(r"[a-z]{2,3}")


class TemplateKind(StrEnum):
    """How a template's text reaches the customer, which decides how it is rendered and checked."""

    MESSAGE = "message"  # a message in Telegram's HTML parse mode: variables escaped, <b> and <i>
    BUTTON = "button"  # an inline button's label: plain text
    NOTICE = "notice"  # the short toast answering a button click: plain text, at most 200 characters
    PRINTED = "printed"  # a line printed on paper (the venue's poster): plain text, no Telegram limit
    MAIL = "mail"  # an e-mail's subject or body, to a brand's admins: plain text, no Telegram limit


#: What Telegram refuses past, by kind (UTF-16 units); a button label has no hard limit (checked on samples).
_TELEGRAM_LIMITS: Final = {TemplateKind.MESSAGE: MAX_MESSAGE_LENGTH, TemplateKind.NOTICE: MAX_NOTICE_LENGTH}


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One template name: what it is for, the variables it may use (with sample values), its kind."""

    name: str
    description: str
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    kind: TemplateKind = TemplateKind.MESSAGE


def default_templates_dir() -> Path:
    """The templates parole ships (the bot's messages in `bot/`, the web admin's pages in `web/`).

    An installed parole carries them as package data, `dialogs/templates` (setup.py maps the repository's
    top-level `templates/` there); a checkout, or an editable install of it, reads `templates/` itself.
    """
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    if installed.is_dir():
        return installed
    checkout = here.parent / "templates"
    if (here.parent / "pyproject.toml").is_file() and checkout.is_dir():
        return checkout
    return installed  # missing: loading the catalog names this path


def template_languages(directory: Path | None = None) -> tuple[str, ...]:
    """The languages a templates directory has templates in, French first (read from its folders' names)."""
    bot = (directory or default_templates_dir()) / BOT_SUBDIRECTORY
    found = sorted(path.name for path in bot.iterdir() if path.is_dir() and _LANGUAGE.fullmatch(path.name))
    return (FALLBACK_LANGUAGE, *(language for language in found if language != FALLBACK_LANGUAGE))


def parse_catalog(text: str, *, source: str) -> tuple[CatalogEntry, ...]:
    """Read `catalog.yaml`; a `CatalogError` names the line of any problem."""
    reader = NodeReader(source, CatalogError)
    root = reader.compose(text)
    entries: list[CatalogEntry] = []
    for name, name_node, node in reader.mapping(root, "the catalog"):
        if not _NAME.fullmatch(name):
            reader.fail(name_node, f"template name '{name}' must be lower case letters, digits and _")
        what = f"template '{name}'"
        found = reader.check_keys(
            node,
            reader.mapping(node, what),
            what,
            allowed=("description", "variables", "kind"),
            required=("description",),
        )
        variables: dict[str, Any] = {}
        if "variables" in found:
            for variable, variable_node, sample in reader.mapping(found["variables"], f"{what} variables"):
                if not _VARIABLE.fullmatch(variable):
                    reader.fail(variable_node, f"variable '{variable}' of {what} is not a valid name")
                variables[variable] = reader.value(sample)
        kind = TemplateKind.MESSAGE
        if "kind" in found:
            kind_text = reader.string(found["kind"], f"kind of {what}")
            if kind_text not in set(TemplateKind):
                reader.fail(found["kind"], f"kind '{kind_text}' of {what} must be message, button, notice or printed")
            kind = TemplateKind(kind_text)
        description = reader.string(found["description"], f"description of {what}")
        entries.append(CatalogEntry(name, description, MappingProxyType(variables), kind))
    if not entries:
        reader.fail(root, "the catalog declares no template")
    return tuple(entries)


def parse_limits(text: str, *, source: str) -> dict[str, Limit]:
    """Read `limits.yaml`: the most each variable (or field of a list's items) holds, by name."""
    reader = NodeReader(source, CatalogError)
    root = reader.compose(text)
    return {
        name: _limit(reader, node, f"the limit of '{name}'") for name, _, node in reader.mapping(root, "the limits")
    }


def _limit(reader: NodeReader, node: Any, what: str) -> Limit:
    found = reader.check_keys(
        node, reader.mapping(node, what), what, allowed=("max", "min", "cut", "item"), required=("max",)
    )
    most = reader.integer(found["max"], f"max of {what}")
    least = reader.integer(found["min"], f"min of {what}") if "min" in found else None
    cut = reader.boolean(found["cut"], f"cut of {what}") if "cut" in found else False
    item = _limit(reader, found["item"], f"item of {what}") if "item" in found else None
    if least is not None and most < least:
        reader.fail(found["max"], f"max of {what} is below its min")
    return Limit(most, least, cut, item)


class TemplateCatalog:
    """Every message template, in every language it exists in, validated when the catalog is built."""

    def __init__(self, directory: Path | None = None) -> None:
        """Load and validate the catalog of a templates directory (default: the repository's).

        `directory` is a templates directory whose `bot/` subdirectory holds `catalog.yaml` and the
        `<language>/<name>.j2` files, or that `bot/` directory itself.

        Raises:
            CatalogError: `catalog.yaml` is missing or invalid.
            TemplateError: a template file is unreadable, undeclared, missing in French, or invalid.
        """
        entries, sources, limits = _read_directory(directory if directory is not None else default_templates_dir())
        self._build(entries, sources, limits)

    @classmethod
    def from_sources(
        cls,
        entries: Iterable[CatalogEntry],
        sources: Mapping[tuple[str, str], str],
        limits: Mapping[str, Limit] | None = None,
    ) -> TemplateCatalog:
        """Build and validate a catalog from its entries, the sources keyed by (name, language), the limits.

        Raises:
            TemplateError: a template is not in the catalog, French lacks one, or a template is invalid.
        """
        catalog = cls.__new__(cls)
        catalog._build(entries, sources, limits or {})
        return catalog

    def _build(
        self,
        entries: Iterable[CatalogEntry],
        sources: Mapping[tuple[str, str], str],
        limits: Mapping[str, Limit],
        only: Collection[tuple[str, str]] | None = None,
    ) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._limits = MappingProxyType(dict(limits))
        self._sources = dict(sources)
        self._html = make_environment(html=True)
        self._plain = make_environment(html=False)
        for name, language in self._sources:
            if name not in self._entries:
                raise TemplateError(
                    name, language, None, problem("template_undeclared", "not declared in {file}", file=CATALOG_FILE)
                )
        for name in self._entries:
            if (name, FALLBACK_LANGUAGE) not in self._sources:
                text = "missing: French is the fallback language and must have every template"
                raise TemplateError(name, FALLBACK_LANGUAGE, None, problem("template_no_french", text))
        for (name, language), text in sorted(self._sources.items()):
            if only is None or (name, language) in only:
                self._validate(self._entries[name], language, text)
        others = sorted({language for _, language in self._sources} - {FALLBACK_LANGUAGE})
        self._languages = (FALLBACK_LANGUAGE, *others)

    @property
    def names(self) -> tuple[str, ...]:
        """Every template name, in catalog order."""
        return tuple(self._entries)

    @property
    def languages(self) -> tuple[str, ...]:
        """Every language with at least one template, French first."""
        return self._languages

    @property
    def entries(self) -> tuple[CatalogEntry, ...]:
        """Every catalog entry, in catalog order."""
        return tuple(self._entries.values())

    def has(self, name: str, language: str) -> bool:
        """Tell whether the template exists in that language (without falling back to French)."""
        return (name, language) in self._sources

    def entry(self, name: str) -> CatalogEntry:
        """The catalog entry of a template name."""
        try:
            return self._entries[name]
        except KeyError:
            raise TemplateError(
                name, None, None, problem("template_unknown", "unknown template {name}", name=name)
            ) from None

    def source(self, name: str, language: str) -> str:
        """The Jinja2 source of a template in a language (no fallback)."""
        try:
            return self._sources[name, language]
        except KeyError:
            self.entry(name)
            raise TemplateError(
                name,
                language,
                None,
                problem("template_no_language", "no template in this language ({language})", language=language),
            ) from None

    def description(self, name: str) -> str:
        """The one-line description of a template."""
        return self.entry(name).description

    def kind(self, name: str) -> TemplateKind:
        """How a template is rendered: message, button or notice."""
        return self.entry(name).kind

    def sample_variables(self, name: str) -> Mapping[str, Any]:
        """The sample values of a template's variables, for previews and validation."""
        return self.entry(name).variables

    def declared_variables(self, name: str) -> frozenset[str]:
        """The variables a template may use."""
        return frozenset(self.entry(name).variables)

    def with_source(self, name: str, language: str, source: str) -> TemplateCatalog:
        """A copy of the catalog with one template replaced or added, validated like the rest.

        Raises:
            TemplateError: the new source is invalid (the catalog itself is left as it was).
        """
        return self.with_sources({(name, language): source})

    def with_sources(self, changes: Mapping[tuple[str, str], str]) -> TemplateCatalog:
        """A copy of the catalog with templates keyed by (name, language) replaced or added, all validated.

        Raises:
            TemplateError: a new source is invalid (the catalog itself is left as it was).
        """
        if not changes:
            return self
        catalog = TemplateCatalog.__new__(TemplateCatalog)
        # The other templates were validated when this catalog was built: only the new ones need it.
        catalog._build(self._entries.values(), {**self._sources, **changes}, self._limits, only=changes.keys())
        return catalog

    @property
    def limits(self) -> Mapping[str, Limit]:
        """The most each variable can hold, by name (`limits.yaml`)."""
        return self._limits

    def _validate(self, entry: CatalogEntry, language: str, text: str) -> None:
        html = entry.kind is TemplateKind.MESSAGE
        env = self._html if html else self._plain
        # Bounds first: compiling folds constant expressions, and a folded bomb would run at compile time.
        tree = parse_template(env, text, name=entry.name, language=language)
        self._check_variables(env, entry, language, text)
        shapes = {variable: shape_of(sample, variable, self._limits) for variable, sample in entry.variables.items()}
        limit = _TELEGRAM_LIMITS.get(entry.kind)
        check_bounds(tree, shapes, name=entry.name, language=language, html=html, limit=limit)
        template = compile_template(env, text, name=entry.name, language=language)
        rendered = render_template(template, entry.variables, name=entry.name, language=language)
        found = _output_problem(entry.kind, rendered)
        if found is not None:
            raise TemplateError(
                entry.name,
                language,
                None,
                problem("with_samples", "with the sample variables: {problem}", problem=found),
            )

    @staticmethod
    def _check_variables(env: jinja2.Environment, entry: CatalogEntry, language: str, text: str) -> None:
        for variable, line in template_variables(env, text, name=entry.name, language=language).items():
            if variable not in entry.variables:
                text = "uses the variable '{variable}' that the catalog does not declare (declared: {declared})"
                declared = tuple(sorted(entry.variables)) or problem("declared_none", "none")
                raise TemplateError(
                    entry.name,
                    language,
                    line,
                    problem("undeclared_variable", text, variable=variable, declared=declared),
                )


def _read_directory(
    directory: Path,
) -> tuple[tuple[CatalogEntry, ...], dict[tuple[str, str], str], dict[str, Limit]]:
    if not (directory / CATALOG_FILE).exists() and (directory / BOT_SUBDIRECTORY).is_dir():
        directory = directory / BOT_SUBDIRECTORY
    catalog_path = directory / CATALOG_FILE
    try:
        catalog_text = catalog_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(catalog_path), None, f"cannot be read: {exc}") from exc
    entries = parse_catalog(catalog_text, source=str(catalog_path))
    limits_path = directory / LIMITS_FILE
    limits: dict[str, Limit] = {}
    if limits_path.exists():
        try:
            limits = parse_limits(limits_path.read_text(encoding="utf-8"), source=str(limits_path))
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(str(limits_path), None, f"cannot be read: {exc}") from exc
    sources: dict[tuple[str, str], str] = {}
    for language_dir in sorted(path for path in directory.iterdir() if path.is_dir()):
        if not _LANGUAGE.fullmatch(language_dir.name):
            continue
        for path in sorted(language_dir.glob(f"*{TEMPLATE_SUFFIX}")):
            name = path.name.removesuffix(TEMPLATE_SUFFIX)
            try:
                sources[name, language_dir.name] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TemplateError(name, language_dir.name, None, f"cannot be read: {exc}") from exc
    return entries, sources, limits


def _output_problem(kind: TemplateKind, rendered: str) -> Problem | str | None:
    if not rendered:
        return problem("empty_text", "the text is empty (Telegram refuses empty messages and labels)")
    too_long = "{length} characters (UTF-16 units), more than Telegram's {limit}"
    if kind is TemplateKind.MESSAGE:
        found = html_problem(rendered)
        if found is None and visible_length(rendered) > MAX_MESSAGE_LENGTH:
            return problem("too_long", too_long, length=visible_length(rendered), limit=MAX_MESSAGE_LENGTH)
        return found
    if kind is TemplateKind.NOTICE and visible_length(rendered) > MAX_NOTICE_LENGTH:
        text = too_long + " for a notice"
        return problem("too_long_notice", text, length=visible_length(rendered), limit=MAX_NOTICE_LENGTH)
    return plain_problem(rendered)
