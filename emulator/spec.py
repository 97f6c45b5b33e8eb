"""The Bot API specification and the checking of a call's parameters against it.

`botapi.json` is the machine-readable Bot API description from PaulSonOfLars/telegram-bot-api-spec,
MIT-licensed: its licence is kept beside it in `LICENSE-botapi-spec`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.errors import bad_request
from emulator.records import UploadedFile

DEFAULT_SPEC_PATH = Path(__file__).with_name("botapi.json")

_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "InputFile"})
_ARRAY = "Array of "
# "Scope type, must be default" / 'Type of the message origin, always "user"'
_CONSTANT = re.compile(r'(?:always|must be) "?([a-z_]+)"?\s*$')
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A parameter of a method, or a field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """An object type, or (with `subtypes`) a union such as `ChatMember`.

    `constant` is the field that tells the subtypes of a union apart and its only value ("type", "chat").
    """

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...]
    constant: tuple[str, str] | None


class SpecMismatch(ValueError):
    """A value does not match its declared type; `path` names it ("reply_markup.inline_keyboard[0][1]")."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f'parameter "{path}" {problem}')
        self.path = path
        self.problem = problem


def _fields(raw: list[dict[str, Any]]) -> dict[str, FieldSpec]:
    return {f["name"]: FieldSpec(f["name"], tuple(f["types"]), bool(f.get("required", False))) for f in raw}


def _constant(fields: list[dict[str, Any]]) -> tuple[str, str] | None:
    if not fields or fields[0]["types"] != ["String"]:
        return None
    match = _CONSTANT.search(str(fields[0].get("description", "")))
    return (fields[0]["name"], match.group(1)) if match else None


def _describe(types: tuple[str, ...]) -> str:
    return " or ".join(types)


class BotApiSpec:
    """The methods and types of one Bot API version, and the validation of calls against them."""

    def __init__(self, version: str, methods: Mapping[str, MethodSpec], types: Mapping[str, TypeSpec]) -> None:
        self.version = version
        self.methods = dict(methods)
        self.types = dict(types)
        self._by_lower_name = {name.lower(): spec for name, spec in self.methods.items()}

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSpec:
        """Read a `botapi.json` (by default the copy shipped with the emulator)."""
        data = json.loads((path or DEFAULT_SPEC_PATH).read_text(encoding="utf-8"))
        methods = {
            name: MethodSpec(name, _fields(raw.get("fields", [])), tuple(raw.get("returns", [])))
            for name, raw in data["methods"].items()
        }
        types = {
            name: TypeSpec(
                name,
                _fields(raw.get("fields", [])),
                tuple(raw.get("subtypes", [])),
                _constant(raw.get("fields", [])),
            )
            for name, raw in data["types"].items()
        }
        return cls(str(data.get("version", "")), methods, types)

    def method(self, name: str) -> MethodSpec | None:
        """The method called `name`; Telegram matches method names without regard to case."""
        return self._by_lower_name.get(name.lower())

    def validate_call(self, method: MethodSpec, raw: Mapping[str, object]) -> dict[str, Any]:
        """The call's parameters decoded to their declared types, or a 400 `BotApiError` naming the culprit.

        A string stands for any type, as python-telegram-bot sends form fields: "123" for an Integer,
        "true" for a Boolean, JSON text for objects and arrays. A null counts as an absent parameter.
        """
        params: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields.get(name)
            if field is None:
                raise bad_request(f'unknown parameter "{name}" for method {method.name}')
            if value is None:
                continue
            try:
                params[name] = self._decode_parameter(value, field.types, name)
            except SpecMismatch as mismatch:
                raise bad_request(str(mismatch)) from None
        for field in method.fields.values():
            if field.required and field.name not in params:
                raise bad_request(f'parameter "{field.name}" is required by method {method.name}')
        return params

    def check_value(self, types: str | Sequence[str], value: object, path: str = "value") -> Any:
        """Check a JSON value against a type of the spec ("Message", "Array of Update"), or a union.

        Raises `SpecMismatch`. The emulator's tests run it on every answer the emulator gives.
        """
        return self._check(value, (types,) if isinstance(types, str) else tuple(types), path)

    def _decode_parameter(self, value: object, types: tuple[str, ...], path: str) -> Any:
        if isinstance(value, UploadedFile):
            if "InputFile" in types:
                return value
            raise SpecMismatch(path, f"must be {_describe(types)}, not an uploaded file")
        if not isinstance(value, str):
            return self._check(value, types, path)
        mismatches: list[SpecMismatch] = []
        for type_name in types:
            if type_name in ("String", "InputFile"):
                continue
            try:
                return self._check(_decode_text(value, type_name), (type_name,), path)
            except ValueError as error:
                mismatch = error if isinstance(error, SpecMismatch) else None
                mismatches.append(mismatch or SpecMismatch(path, f"must be {_describe(types)}, got {value!r}"))
        if "String" in types:
            return value
        raise _best(mismatches, path, types)

    def _check(self, value: object, types: tuple[str, ...], path: str) -> Any:
        mismatches: list[SpecMismatch] = []
        for type_name in types:
            try:
                return self._check_one(value, type_name, path)
            except SpecMismatch as mismatch:
                mismatches.append(mismatch)
        raise _best(mismatches, path, types)

    def _check_one(self, value: object, type_name: str, path: str) -> Any:
        if type_name in _SCALARS:
            return _check_scalar(value, type_name, path)
        if type_name.startswith(_ARRAY):
            if not isinstance(value, list):
                raise SpecMismatch(path, f"must be {type_name}")
            item_type = type_name.removeprefix(_ARRAY)
            return [self._check(item, (item_type,), f"{path}[{index}]") for index, item in enumerate(value)]
        spec = self.types.get(type_name)
        if spec is None:
            return value  # a type the spec names but does not describe: nothing to check against
        if spec.subtypes:
            return self._check(value, spec.subtypes, path)
        if not isinstance(value, dict):
            raise SpecMismatch(path, f"must be a JSON object ({type_name})")
        return self._check_object(value, spec, path)

    def _check_object(self, value: dict[str, Any], spec: TypeSpec, path: str) -> dict[str, Any]:
        if spec.constant is not None:
            key, expected = spec.constant
            if value.get(key) != expected:
                raise SpecMismatch(path, f'is not a {spec.name}: its "{key}" must be "{expected}"')
        checked: dict[str, Any] = {}
        for key, item in value.items():
            field = spec.fields.get(key)
            if field is None:
                raise SpecMismatch(path, f'has an unknown field "{key}" for {spec.name}')
            if item is not None:
                checked[key] = self._check(item, field.types, f"{path}.{key}")
        for field in spec.fields.values():
            if field.required and field.name not in checked:
                raise SpecMismatch(path, f'lacks the field "{field.name}" required by {spec.name}')
        return checked


def _decode_text(text: str, type_name: str) -> object:
    """A form field's text as the JSON value it stands for (ValueError when it cannot)."""
    if type_name == "Integer":
        if not _INTEGER.fullmatch(text.strip()):
            raise ValueError(text)
        return int(text)
    if type_name == "Float":
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return number
    if type_name == "Boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise ValueError(text)
    return json.loads(text)


def _check_scalar(value: object, type_name: str, path: str) -> object:
    if type_name == "Integer" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if type_name == "Float" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if type_name == "Boolean" and isinstance(value, bool):
        return value
    if type_name == "String" and isinstance(value, str):
        return value
    if type_name == "InputFile" and isinstance(value, UploadedFile | str):
        return value  # nested media refer to their file part as "attach://<name>"
    raise SpecMismatch(path, f"must be {type_name}, got {json.dumps(value, default=repr)[:60]}")


def _best(mismatches: list[SpecMismatch], path: str, types: tuple[str, ...]) -> SpecMismatch:
    """The most telling failure of a union: the one that went deepest into the value."""
    if not mismatches:
        return SpecMismatch(path, f"must be {_describe(types)}")
    if len(mismatches) == 1:
        return mismatches[0]
    deepest = max(mismatches, key=lambda mismatch: len(mismatch.path))
    if deepest.path == path and len({m.problem for m in mismatches}) > 1:
        return SpecMismatch(path, f"must be {_describe(types)}")
    return deepest
