"""The dialog engine's errors: one base, one subclass per cause, each with the fields that explain it."""

from __future__ import annotations


class DialogError(Exception):
    """Base of every error raised by `dialogs/`."""


class FlowError(DialogError):
    """A dialog flow definition is invalid: which file, which line (1-based) and what is wrong."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        super().__init__(path, line, problem)
        self.path = path
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}: {self.problem}"


class CatalogError(DialogError):
    """The template catalog (`catalog.yaml`) is invalid: which file, which line (1-based), what is wrong."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        super().__init__(path, line, problem)
        self.path = path
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.problem}"
        return f"{self.path}:{self.line}: {self.problem}"


class TemplateError(DialogError):
    """A message template cannot be compiled or rendered: which template, language, line and why.

    `language` is None when the problem is not tied to one language (an unknown template name);
    `line` is None when no line of the template is to blame.
    """

    def __init__(self, template: str, language: str | None, line: int | None, problem: str) -> None:
        super().__init__(template, language, line, problem)
        self.template = template
        self.language = language
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        where = f"{self.language}/{self.template}.j2" if self.language else self.template
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.problem}"
