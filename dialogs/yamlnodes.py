"""Reading YAML as nodes, so every value keeps the line it came from and errors can point at it.

`yaml.safe_load` loses line numbers and silently keeps the last of two duplicate keys; flows and the
template catalog are read through `yaml.compose` instead, with the checks below.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor

from dialogs.errors import DialogError, Problem, problem

__all__ = ["NodeReader", "line_of"]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"

ErrorFactory = Callable[[str, int | None, str | Problem], DialogError]
What = str | Problem  # what is being read, for the messages: "the flow", "ask of step 'rating'"


def line_of(node: yaml.Node) -> int:
    """The 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


class NodeReader:
    """Typed access to composed YAML nodes; every problem raises `error(source, line, problem)`."""

    def __init__(self, source: str, error: ErrorFactory) -> None:
        self.source = source
        self._error = error

    def fail(self, node: yaml.Node | None, problem: str | Problem) -> NoReturn:
        """Raise the reader's error for `node` (None: the whole document)."""
        raise self._error(self.source, line_of(node) if node is not None else None, problem)

    def compose(self, text: str) -> yaml.Node:
        """Parse one YAML document into nodes; a syntax error names its line."""
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            found = exc.problem or exc.context or "cannot be parsed"
            raise self._error(
                self.source, line, problem("yaml_syntax", "YAML syntax error: {error}", error=found)
            ) from exc
        except yaml.YAMLError as exc:
            raise self._error(
                self.source, None, problem("yaml_syntax", "YAML syntax error: {error}", error=str(exc))
            ) from exc
        if node is None:
            raise self._error(self.source, 1, problem("yaml_empty", "the file is empty"))
        return node

    def mapping(self, node: yaml.Node, what: What) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) entries of a mapping with string keys and no duplicates."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, problem("yaml_mapping", "{what} must be a mapping", what=what))
        seen: dict[str, int] = {}
        entries: list[tuple[str, yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key = self.string(key_node, problem("what_key", "a key in {what}", what=what))
            if key in seen:
                self.fail(
                    key_node,
                    problem(
                        "yaml_duplicate_key",
                        "duplicate key '{key}' in {what} (first on line {first})",
                        key=key,
                        what=what,
                        first=seen[key],
                    ),
                )
            seen[key] = line_of(key_node)
            entries.append((key, key_node, value_node))
        return entries

    def check_keys(
        self,
        node: yaml.Node,
        entries: list[tuple[str, yaml.Node, yaml.Node]],
        what: What,
        *,
        allowed: Collection[str],
        required: Collection[str] = (),
    ) -> dict[str, yaml.Node]:
        """Refuse unknown and missing keys; return the value nodes by key."""
        for key, key_node, _ in entries:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.fail(
                    key_node,
                    problem(
                        "yaml_unknown_key",
                        "unknown key '{key}' in {what} (expected one of: {expected})",
                        key=key,
                        what=what,
                        expected=expected,
                    ),
                )
        found = {key: value for key, _, value in entries}
        for key in required:
            if key not in found:
                self.fail(node, problem("yaml_missing_key", "missing key '{key}' in {what}", key=key, what=what))
        return found

    def string(self, node: yaml.Node, what: What) -> str:
        """A non-empty string scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not str(node.value).strip():
            self.fail(node, problem("yaml_string", "{what} must be a non-empty string", what=what))
        return str(node.value)

    def integer(self, node: yaml.Node, what: What) -> int:
        """An integer scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT:
            self.fail(node, problem("yaml_integer", "{what} must be an integer", what=what))
        value = self.value(node)
        assert isinstance(value, int)
        return value

    def boolean(self, node: yaml.Node, what: What) -> bool:
        """A boolean scalar (true/false)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _BOOL:
            self.fail(node, problem("yaml_boolean", "{what} must be true or false", what=what))
        return bool(self.value(node))

    def sequence(self, node: yaml.Node, what: What) -> list[yaml.Node]:
        """The items of a sequence."""
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, problem("yaml_list", "{what} must be a list", what=what))
        return list(node.value)

    def value(self, node: yaml.Node) -> Any:
        """The plain Python value of a node (as `yaml.safe_load` would build it)."""
        try:
            return SafeConstructor().construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.fail(node, problem("yaml_value", "cannot read this value: {error}", error=str(exc)))
