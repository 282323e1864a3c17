"""Check values against the PBS API subset the simulator serves (OpenAPI 3 / JSON schema).

The subset is `simulators/schemas/pbs-api-subset.json`, cut from the official document by
`scripts/pbs_schema_subset.py`. The checker understands what that document uses: `type`,
`properties`, `required`, `items`, `enum`, `$ref` into `components`, `nullable`,
`additionalProperties`, `pattern`, `minimum`/`maximum` and `minLength`/`maxLength`.

It is stricter than JSON schema in one way, on purpose: an object whose schema lists
`properties` may not carry other keys unless `additionalProperties` allows them, so every field
the simulator sends is one the published API documents.
"""

from __future__ import annotations

from collections.abc import Mapping
import functools
import json
from pathlib import Path
import re
from typing import Final, cast

from .operations import API_PREFIX

type Json = bool | int | float | str | list[Json] | dict[str, Json] | None
type JsonObject = dict[str, Json]
type Schema = Mapping[str, Json]

SUBSET_PATH: Final = Path(__file__).resolve().parent.parent / "schemas" / "pbs-api-subset.json"

# Proxmox writes POSIX classes inside brackets (`[^\s:/[:cntrl:]]`); Python's re has none.
_POSIX_CLASSES: Final = {"[:cntrl:]": r"\x00-\x1f\x7f"}


class SchemaViolationError(ValueError):
    """A value that does not match its schema, and where in the value it failed."""

    def __init__(self, where: str, detail: str) -> None:
        """Say where (`data[3].size`) and what is wrong."""
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


def as_object(value: Json, where: str) -> JsonObject:
    """Return `value` as a JSON object, or raise SchemaViolationError naming `where`."""
    if not isinstance(value, dict):
        raise SchemaViolationError(where, f"expected an object, got {_kind(value)}")
    return value


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    for posix, replacement in _POSIX_CLASSES.items():
        pattern = pattern.replace(posix, replacement)
    return re.compile(pattern)


def _kind(value: Json) -> str:
    """Name a value's JSON type for messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case _:
            return "object"


def _has_type(value: Json, expected: str) -> bool:
    match expected:
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "string":
            return isinstance(value, str)
        case "array":
            return isinstance(value, list)
        case "object":
            return isinstance(value, dict)
        case _:
            raise SchemaViolationError("schema", f"unsupported type {expected!r}")


class ApiSchema:
    """The served part of the PBS API: operations, their parameters and response schemas."""

    def __init__(self, document: JsonObject) -> None:
        """Wrap an OpenAPI document (normally the committed subset)."""
        self.document = document
        self._paths = as_object(document.get("paths"), "paths")
        components = as_object(document.get("components", {}), "components")
        self._components = components

    def operations(self) -> list[tuple[str, str]]:
        """Every (METHOD, path template) the document describes."""
        return sorted(
            (method.upper(), path)
            for path, item in self._paths.items()
            for method in as_object(item, path)
        )

    def operation(self, method: str, template: str) -> JsonObject:
        """The OpenAPI operation object for a method and path template."""
        item = as_object(self._paths.get(template), f"paths[{template!r}]")
        return as_object(item.get(method.lower()), f"{method} {template}")

    def response_schema(self, method: str, template: str) -> JsonObject:
        """The schema of the `data` a successful call returns."""
        where = f"{method} {template} 200"
        responses = as_object(self.operation(method, template).get("responses"), where)
        content = as_object(as_object(responses.get("200"), where).get("content"), where)
        media = as_object(content.get("application/json"), where)
        return as_object(media.get("schema"), where)

    def validate_response(self, method: str, path: str, data: Json) -> None:
        """Check a response's `data` for (method, path template) against the subset.

        `path` may carry the `/api2/json` prefix.
        """
        template = path.removeprefix(API_PREFIX)
        self.validate(self.response_schema(method, template), data)

    def resolve(self, schema: Schema) -> Schema:
        """Follow `$ref`s (`#/components/...`) until a concrete schema."""
        while isinstance(ref := schema.get("$ref"), str):
            if not ref.startswith("#/components/"):
                raise SchemaViolationError("schema", f"unsupported reference {ref!r}")
            target: Json = self._components
            for part in ref.removeprefix("#/components/").split("/"):
                target = as_object(target, ref).get(part)
            schema = as_object(target, ref)
        return schema

    def validate(self, schema: Schema, value: Json, where: str = "data") -> None:
        """Raise SchemaViolationError unless `value` matches `schema`."""
        schema = self.resolve(schema)
        if value is None:
            if schema.get("nullable") is True:
                return
            raise SchemaViolationError(where, "null where the schema allows none")
        expected = schema.get("type")
        if isinstance(expected, str) and not _has_type(value, expected):
            raise SchemaViolationError(where, f"expected {expected}, got {_kind(value)}")
        enum = schema.get("enum")
        if isinstance(enum, list) and value not in enum:
            raise SchemaViolationError(where, f"{value!r} is not one of {enum!r}")
        match value:
            case str():
                self._check_string(schema, value, where)
            case bool():
                pass
            case int() | float():
                self._check_number(schema, value, where)
            case list():
                items = schema.get("items")
                if isinstance(items, dict):
                    for index, item in enumerate(value):
                        self.validate(items, item, f"{where}[{index}]")
            case dict():
                self._check_object(schema, value, where)

    def _check_string(self, schema: Schema, value: str, where: str) -> None:
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _compiled(pattern).search(value):
            raise SchemaViolationError(where, f"{value!r} does not match {pattern!r}")
        min_length = schema.get("minLength")
        if isinstance(min_length, int) and len(value) < min_length:
            raise SchemaViolationError(where, f"shorter than {min_length} characters")
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and len(value) > max_length:
            raise SchemaViolationError(where, f"longer than {max_length} characters")

    def _check_number(self, schema: Schema, value: float, where: str) -> None:
        minimum = schema.get("minimum")
        if isinstance(minimum, int | float) and value < minimum:
            raise SchemaViolationError(where, f"{value} is below the minimum {minimum}")
        maximum = schema.get("maximum")
        if isinstance(maximum, int | float) and value > maximum:
            raise SchemaViolationError(where, f"{value} is above the maximum {maximum}")

    def _check_object(self, schema: Schema, value: JsonObject, where: str) -> None:
        required = schema.get("required")
        if isinstance(required, list):
            for name in required:
                if isinstance(name, str) and name not in value:
                    raise SchemaViolationError(where, f"required property {name!r} is missing")
        properties = schema.get("properties")
        declared = properties if isinstance(properties, dict) else {}
        additional = schema.get("additionalProperties")
        for name, item in value.items():
            if name in declared:
                self.validate(as_object(declared[name], where), item, f"{where}.{name}")
            elif isinstance(additional, dict):
                self.validate(additional, item, f"{where}.{name}")
            elif additional is False or (properties is not None and additional is None):
                raise SchemaViolationError(where, f"property {name!r} is not in the schema")


@functools.cache
def load_subset(path: Path = SUBSET_PATH) -> ApiSchema:
    """Load (once per path) the subset written by scripts/pbs_schema_subset.py."""
    return ApiSchema(as_object(cast("Json", json.loads(path.read_text())), str(path)))
