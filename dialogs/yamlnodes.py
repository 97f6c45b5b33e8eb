"""Reading YAML as nodes, so every value keeps the line it came from and errors can point at it.

`yaml.safe_load` loses line numbers and silently keeps the last of two duplicate keys; flows and the
template catalog are read through `yaml.compose` instead, with the checks below.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor

from dialogs.errors import DialogError

__all__ = ["NodeReader", "line_of"]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"

ErrorFactory = Callable[[str, int | None, str], DialogError]


def line_of(node: yaml.Node) -> int:
    """The 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


class NodeReader:
    """Typed access to composed YAML nodes; every problem raises `error(source, line, problem)`."""

    def __init__(self, source: str, error: ErrorFactory) -> None:
        self.source = source
        self._error = error

    def fail(self, node: yaml.Node | None, problem: str) -> NoReturn:
        """Raise the reader's error for `node` (None: the whole document)."""
        raise self._error(self.source, line_of(node) if node is not None else None, problem)

    def compose(self, text: str) -> yaml.Node:
        """Parse one YAML document into nodes; a syntax error names its line."""
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            problem = exc.problem or exc.context or "cannot be parsed"
            raise self._error(self.source, line, f"YAML syntax error: {problem}") from exc
        except yaml.YAMLError as exc:
            raise self._error(self.source, None, f"YAML syntax error: {exc}") from exc
        if node is None:
            raise self._error(self.source, 1, "the file is empty")
        return node

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) entries of a mapping with string keys and no duplicates."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what} must be a mapping")
        seen: dict[str, int] = {}
        entries: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = self.string(key_node, f"a key in {what}")
            if key in seen:
                self.fail(key_node, f"duplicate key '{key}' in {what} (first on line {seen[key]})")
            seen[key] = line_of(key_node)
            entries.append((key, key_node, value_node))
        return entries

    def check_keys(
        self,
        node: yaml.Node,
        entries: list[tuple[str, yaml.Node, yaml.Node]],
        what: str,
        *,
        allowed: Collection[str],
        required: Collection[str] = (),
    ) -> dict[str, yaml.Node]:
        """Refuse unknown and missing keys; return the value nodes by key."""
        for key, key_node, _ in entries:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.fail(key_node, f"unknown key '{key}' in {what} (expected one of: {expected})")
        found = {key: value for key, _, value in entries}
        for key in required:
            if key not in found:
                self.fail(node, f"missing key '{key}' in {what}")
        return found

    def string(self, node: yaml.Node, what: str) -> str:
        """A non-empty string scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not str(node.value).strip():
            self.fail(node, f"{what} must be a non-empty string")
        return str(node.value)

    def integer(self, node: yaml.Node, what: str) -> int:
        """An integer scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            self.fail(node, f"{what} must be an integer")
        value = self.value(node)
        assert isinstance(value, int)
        return value

    def boolean(self, node: yaml.Node, what: str) -> bool:
        """A boolean scalar (true/false)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            self.fail(node, f"{what} must be true or false")
        return bool(self.value(node))

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        """The items of a sequence."""
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def value(self, node: yaml.Node) -> Any:
        """The plain Python value of a node (as `yaml.safe_load` would build it)."""
        try:
            return SafeConstructor().construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.fail(node, f"cannot read this value: {exc}")
