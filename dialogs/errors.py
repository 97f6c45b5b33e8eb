"""The dialog engine's errors: one base, one subclass per cause, each with the fields that explain it."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong, as a code and its values, so `bot/` can say it in a person's language.

    `text` is the English wording (`str.format` fields, as `bot.refusals` fills them); the other languages'
    live in `templates/refusals.yaml` under the same `code`.
    """

    code: str
    text: str
    values: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __str__(self) -> str:
        return _Plain().vformat(self.text, (), dict(self.values))


def problem(code: str, text: str, /, **values: Any) -> Problem:
    """A `Problem`: `problem("undeclared_variable", "uses the variable '{variable}'", variable=name)`."""
    return Problem(code, text, MappingProxyType(values))


class _Plain(string.Formatter):
    """`str.format` with lists joined and a label group's name as a spec ignored (`bot.refusals` uses it)."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, tuple | list | frozenset | set):
            return (" or " if format_spec == "or" else ", ").join(str(item) for item in value)
        if "|" in format_spec and isinstance(value, int):  # {count:template|templates}
            one, other = format_spec.split("|", 1)
            return f"{value} {one if value == 1 else other}"
        return str(super().format_field(value, "" if format_spec.isidentifier() else format_spec))


def reason_of(error: BaseException) -> Problem:
    """The `Problem` an error carries, or its message as an uncoded one."""
    found = getattr(error, "reason", None)
    return found if isinstance(found, Problem) else Problem("", str(error))


class DialogError(Exception):
    """Base of every error raised by `dialogs/`."""


class FlowError(DialogError):
    """A dialog flow definition is invalid: which file, which line (1-based) and what is wrong."""

    def __init__(self, path: str, line: int | None, problem: str | Problem) -> None:
        super().__init__(path, line, str(problem))
        self.path = path
        self.line = line
        self.problem = str(problem)
        self.reason = problem if isinstance(problem, Problem) else Problem("", problem)

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}: {self.problem}"


class CatalogError(DialogError):
    """The template catalog (`catalog.yaml`) is invalid: which file, which line (1-based), what is wrong."""

    def __init__(self, path: str, line: int | None, problem: str | Problem) -> None:
        super().__init__(path, line, str(problem))
        self.path = path
        self.line = line
        self.problem = str(problem)
        self.reason = problem if isinstance(problem, Problem) else Problem("", problem)

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}: {self.problem}"


class TemplateError(DialogError):
    """A message template cannot be compiled or rendered: which template, language, line and why.

    `language` is None when the problem is not tied to one language (an unknown template name);
    `line` is None when no line of the template is to blame.
    """

    def __init__(self, template: str, language: str | None, line: int | None, problem: str | Problem) -> None:
        super().__init__(template, language, line, str(problem))
        self.template = template
        self.language = language
        self.line = line
        self.problem = str(problem)
        self.reason = problem if isinstance(problem, Problem) else Problem("", problem)

    def __str__(self) -> str:
        where = f"{self.language}/{self.template}.j2" if self.language else self.template
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.problem}"
