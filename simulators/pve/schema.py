"""The PVE API schema subset: response validation and request parameter checking.

The subset (`simulators/schemas/pve-api-subset.json`, written by `scripts/pve_schema_subset.py`)
uses PVE's JSON-schema dialect: `optional: 1` instead of `required` lists, booleans as 0/1
integers, `additionalProperties` open unless set to 0, `[n]` suffixes for numbered parameters,
and Perl regex patterns that PVE anchors at both ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import functools
import json
from pathlib import Path
import re
from typing import Final

type JsonValue = bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None
type JsonObject = Mapping[str, JsonValue]
type ParamValue = str | int | float | bool | list[str]

SUBSET_PATH: Final = Path(__file__).resolve().parent.parent / "schemas" / "pve-api-subset.json"

_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS: Final = frozenset({"0", "false", "no", "off"})
_INTEGER: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# Named formats PVE checks on parameters the simulator acts on; other formats are accepted.
_FORMATS: Final[Mapping[str, tuple[re.Pattern[str], str]]] = {
    "pve-node": (
        re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?"),
        "value does not look like a valid node name",
    ),
    "pve-storage-id": (
        re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.IGNORECASE),
        "storage ID contains illegal characters",
    ),
    "pve-vmid-list": (
        re.compile(r"\d+([\s,;]+\d+)*"),
        "value does not look like a valid VM ID list",
    ),
}


class ParameterError(Exception):
    """Request parameters failed verification; `errors` maps parameter names to messages."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        """Keep the per-parameter messages PVE returns in the `errors` body field."""
        super().__init__("Parameter verification failed.")
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class EndpointSchema:
    """One method of one path in the subset."""

    method: str
    path: str
    definition: JsonObject

    @property
    def returns(self) -> JsonObject:
        """The schema of the response's `data`."""
        return _object(self.definition.get("returns"))

    @property
    def parameters(self) -> JsonObject:
        """The schema of the request parameters (path, query and body together)."""
        return _object(self.definition.get("parameters"))

    @property
    def permissions(self) -> JsonObject:
        """The declarative permission check PVE runs before the handler."""
        return _object(self.definition.get("permissions"))

    @property
    def proxied_to_node(self) -> bool:
        """Whether pveproxy forwards the call to the node named in the path."""
        return self.definition.get("proxyto") == "node"

    @property
    def allows_token(self) -> bool:
        """Whether API tokens may call this endpoint."""
        return self.definition.get("allowtoken", 1) == 1


class SchemaSubset:
    """The served part of the PVE API schema, keyed by method and path template."""

    def __init__(self, document: JsonObject) -> None:
        """Index a loaded subset document."""
        self._endpoints: dict[tuple[str, str], EndpointSchema] = {}
        for path, methods in _object(document.get("paths")).items():
            for method, definition in _object(methods).items():
                self._endpoints[method, path] = EndpointSchema(method, path, _object(definition))

    @classmethod
    def load(cls, path: Path = SUBSET_PATH) -> SchemaSubset:
        """Load a subset file (the committed one by default)."""
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(_object(document))

    def endpoint(self, method: str, path: str) -> EndpointSchema:
        """The schema for one method and path template, e.g. ("GET", "/nodes/{node}/qemu")."""
        return self._endpoints[method, path]

    def endpoints(self) -> list[tuple[str, str]]:
        """Every (method, path template) in the subset, sorted."""
        return sorted(self._endpoints)

    def validate_response(self, method: str, path: str, data: JsonValue) -> list[str]:
        """Check a response's `data` against the endpoint's `returns`; return the problems."""
        return validate(data, self.endpoint(method, path).returns)


@functools.cache
def default_subset() -> SchemaSubset:
    """The committed subset, loaded once per process."""
    return SchemaSubset.load()


def validate(value: JsonValue, schema: JsonObject, where: str = "data") -> list[str]:
    """Validate a JSON value against a PVE returns schema; return readable problems, if any."""
    problems: list[str] = []
    _check(value, schema, where, problems)
    return problems


def _check(value: JsonValue, schema: JsonObject, where: str, problems: list[str]) -> None:
    declared = schema.get("type", "any")
    types = declared if isinstance(declared, list) else [declared]
    if not any(_is_type(value, str(kind)) for kind in types):
        problems.append(f"{where}: expected {'|'.join(map(str, types))}, got {_describe(value)}")
        return
    if isinstance(value, Mapping):
        _check_object(value, schema, where, problems)
    elif isinstance(value, list | tuple):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, item in enumerate(value):
                _check(item, items, f"{where}[{index}]", problems)
    elif isinstance(value, bool | int | float | str):
        _check_scalar(value, schema, where, problems)


def _check_object(value: JsonObject, schema: JsonObject, where: str, problems: list[str]) -> None:
    properties = _object(schema.get("properties"))
    for name, subschema in properties.items():
        sub = _object(subschema)
        # Perl drops undefined hash values, so PVE treats null like an absent property.
        if value.get(name) is None:
            if not sub.get("optional"):
                problems.append(f"{where}.{name}: required property is missing")
            continue
        _check(value[name], sub, f"{where}.{name}", problems)
    additional = schema.get("additionalProperties")
    for name in value.keys() - properties.keys():
        if isinstance(additional, Mapping):
            _check(value[name], additional, f"{where}.{name}", problems)
        elif additional in (0, False):
            problems.append(f"{where}.{name}: property not allowed by the schema")


def _check_scalar(
    value: bool | float | str, schema: JsonObject, where: str, problems: list[str]
) -> None:
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        problems.append(f"{where}: {value!r} is not one of {enum}")
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, value):
            problems.append(f"{where}: {value!r} does not match {pattern!r}")
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and len(value) > max_length:
            problems.append(f"{where}: longer than {max_length} characters")
        return
    minimum = _number(schema.get("minimum"))
    if minimum is not None and value < minimum:
        problems.append(f"{where}: {value} is below the minimum {minimum}")
    maximum = _number(schema.get("maximum"))
    if maximum is not None and value > maximum:
        problems.append(f"{where}: {value} is above the maximum {maximum}")


def _is_type(value: JsonValue, kind: str) -> bool:
    match kind:
        case "any":
            return True
        case "null":
            return value is None
        case "string":
            return isinstance(value, str)
        case "boolean":
            # PVE serialises booleans as the integers 0 and 1; JSON true/false also occur.
            return isinstance(value, bool) or (isinstance(value, int) and value in (0, 1))
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "array":
            return isinstance(value, list | tuple)
        case "object":
            return isinstance(value, Mapping)
    return False


def _describe(value: JsonValue) -> str:
    if value is None:
        return "null"
    text = json.dumps(value)
    return f"{type(value).__name__} {text[:60]}"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    # Perl's `(?^:...)` (default flags) is Python's `(?:...)`; other Perl-only syntax is skipped.
    try:
        return re.compile(pattern.replace("(?^:", "(?:"))
    except re.error:
        return None


def _matches(pattern: str, value: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, Mapping) else {}


def check_parameters(raw: Mapping[str, Sequence[str]], schema: JsonObject) -> dict[str, ParamValue]:
    """Verify and convert request parameters as PVE does, raising `ParameterError` on problems.

    `raw` maps each parameter name to the string values the request carried (path, query and
    body merged). The messages are the ones PVE puts in the `errors` field of a 400 response.
    """
    properties = _object(schema.get("properties"))
    numbered = {
        name.removesuffix("[n]"): _object(sub)
        for name, sub in properties.items()
        if name.endswith("[n]")
    }
    errors: dict[str, str] = {}
    params: dict[str, ParamValue] = {}
    for name, values in raw.items():
        prop = _object(properties.get(name)) or _numbered_schema(name, numbered)
        if not prop:
            if schema.get("additionalProperties", 1) in (0, False):
                errors[name] = (
                    "property is not defined in schema and the schema does not allow "
                    "additional properties"
                )
            continue
        try:
            params[name] = _convert(values, prop)
        except ValueError as err:
            errors[name] = str(err)
    for name, sub in properties.items():
        prop = _object(sub)
        if name.endswith("[n]"):
            continue
        if name not in raw and not prop.get("optional"):
            errors[name] = "property is missing and it is not optional"
        requires = prop.get("requires")
        if name in raw and isinstance(requires, str) and requires not in raw:
            errors[requires] = f"missing property - '{name}' requires this property"
    if errors:
        raise ParameterError(errors)
    return params


def _numbered_schema(name: str, numbered: Mapping[str, JsonObject]) -> JsonObject:
    match = re.fullmatch(r"([a-z_-]+?)(\d+)", name)
    if match is None:
        return {}
    return numbered.get(match.group(1), {})


def _convert(values: Sequence[str], prop: JsonObject) -> ParamValue:
    kind = prop.get("type", "string")
    if kind == "array":
        return list(values)
    value = values[-1]
    converted: ParamValue
    match kind:
        case "boolean":
            word = value.lower()
            if word not in _TRUE_WORDS | _FALSE_WORDS:
                raise ValueError(f"type check ('boolean') failed - got '{value}'")
            converted = word in _TRUE_WORDS
        case "integer":
            if not _INTEGER.fullmatch(value):
                raise ValueError(f"type check ('integer') failed - got '{value}'")
            converted = int(value)
        case "number":
            if not _NUMBER.fullmatch(value):
                raise ValueError(f"type check ('number') failed - got '{value}'")
            converted = float(value)
        case _:
            converted = value
    _check_parameter_constraints(value, converted, prop)
    return converted


def _check_parameter_constraints(text: str, converted: ParamValue, prop: JsonObject) -> None:
    enum = prop.get("enum")
    if isinstance(enum, list) and text not in enum:
        choices = ", ".join(str(choice) for choice in enum)
        raise ValueError(f"value '{text}' does not have a value in the enumeration '{choices}'")
    if isinstance(converted, int | float) and not isinstance(converted, bool):
        minimum = _number(prop.get("minimum"))
        if minimum is not None and converted < minimum:
            raise ValueError(f"value must have a minimum value of {prop['minimum']}")
        maximum = _number(prop.get("maximum"))
        if maximum is not None and converted > maximum:
            raise ValueError(f"value must have a maximum value of {prop['maximum']}")
        return
    if not isinstance(converted, str):
        return
    max_length = prop.get("maxLength")
    if isinstance(max_length, int) and len(text) > max_length:
        raise ValueError(f"value may only be {max_length} characters long")
    min_length = prop.get("minLength")
    if isinstance(min_length, int) and len(text) < min_length:
        raise ValueError(f"value must be at least {min_length} characters long")
    pattern = prop.get("pattern")
    if isinstance(pattern, str) and not _matches(pattern, text):
        raise ValueError("value does not match the regex pattern")
    named = prop.get("format")
    if isinstance(named, str) and named in _FORMATS:
        regex, message = _FORMATS[named]
        if not regex.fullmatch(text):
            raise ValueError(f"invalid format - {message}")
