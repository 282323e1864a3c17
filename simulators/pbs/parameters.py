"""Request parameters checked against the served operation's schema, as PBS checks them.

PBS is strict: an unknown parameter, a missing required one or a value of the wrong type is a
400 `parameter verification failed`. Query strings and form bodies carry text, so values are
first converted to the schema's type (booleans accept 1/0, true/false, yes/no, on/off).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import re
from typing import Final

from .schema import ApiSchema, Json, JsonObject, Schema, SchemaViolationError, as_object

_INTEGER_RE: Final = re.compile(r"^[+-]?\d+$")
_TRUE: Final = frozenset({"1", "on", "yes", "true"})
_FALSE: Final = frozenset({"0", "off", "no", "false"})


class ParameterError(Exception):
    """Parameters PBS would reject; the message is PBS's."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        """One message per offending parameter name."""
        if len(errors) == 1:
            ((name, error),) = errors.items()
            message = f"parameter verification failed - '{name}': {error}"
        else:
            lines = "".join(f"- '{name}': {error}\n" for name, error in errors.items())
            message = f"parameter verification failed:\n{lines}"
        super().__init__(message)
        self.errors = dict(errors)


@dataclass(frozen=True, slots=True)
class Parameters:
    """A request's checked parameters, typed by the schema."""

    values: JsonObject

    def string(self, name: str) -> str | None:
        """A string parameter, if given."""
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def integer(self, name: str) -> int | None:
        """An integer parameter, if given."""
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def boolean(self, name: str, default: bool) -> bool:
        """A boolean parameter, or `default`."""
        value = self.values.get(name)
        return value if isinstance(value, bool) else default

    def strings(self, name: str) -> list[str]:
        """An array-of-strings parameter (empty when not given)."""
        value = self.values.get(name)
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class _Declared:
    schema: Schema
    required: bool


def _declared(api: ApiSchema, method: str, template: str) -> dict[str, _Declared]:
    """Every parameter the operation accepts: path, query and JSON body properties."""
    operation = api.operation(method, template)
    declared: dict[str, _Declared] = {}
    parameters = operation.get("parameters")
    for raw in parameters if isinstance(parameters, list) else []:
        parameter = as_object(raw, "parameter")
        name = parameter.get("name")
        if isinstance(name, str):
            declared[name] = _Declared(
                as_object(parameter.get("schema", {}), name), parameter.get("required") is True
            )
    body = operation.get("requestBody")
    if isinstance(body, dict):
        content = as_object(body.get("content"), "requestBody.content")
        media = as_object(content.get("application/json"), "requestBody.content")
        schema = api.resolve(as_object(media.get("schema"), "requestBody.schema"))
        required = schema.get("required")
        required_names = set(required) if isinstance(required, list) else set()
        properties = as_object(schema.get("properties", {}), "requestBody.properties")
        for name, property_schema in properties.items():
            declared[name] = _Declared(as_object(property_schema, name), name in required_names)
    return declared


def _convert(api: ApiSchema, schema: Schema, value: Json) -> Json:
    """Turn text into the schema's type; leave typed (JSON body) values alone."""
    if not isinstance(value, str):
        return value
    match api.resolve(schema).get("type"):
        case "integer":
            if not _INTEGER_RE.match(value):
                raise ValueError(f"value '{value}' is not an integer")
            return int(value)
        case "number":
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"value '{value}' is not a number") from None
        case "boolean":
            lowered = value.lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ValueError("Unable to parse boolean option.")
        case _:
            return value


def _value(api: ApiSchema, schema: Schema, raw: Sequence[Json], name: str) -> Json:
    """One parameter's checked value from the values given for it."""
    value: Json
    if schema.get("type") == "array":
        items = as_object(schema.get("items", {}), name)
        value = [_convert(api, items, item) for item in raw]
    elif len(raw) != 1:
        raise ValueError("got multiple values for a single-valued parameter")
    else:
        value = _convert(api, schema, raw[0])
    api.validate(schema, value, name)
    return value


def parse_parameters(
    api: ApiSchema,
    method: str,
    template: str,
    given: Mapping[str, Sequence[Json]],
) -> Parameters:
    """Check every given value (name to values, path/query/body merged) for the operation."""
    declared = _declared(api, method, template)
    errors: dict[str, str] = {}
    values: JsonObject = {}
    for name, raw in given.items():
        parameter = declared.get(name)
        if parameter is None:
            errors[name] = "schema does not allow additional properties."
            continue
        try:
            value = _value(api, api.resolve(parameter.schema), raw, name)
        except SchemaViolationError as violation:
            errors[name] = violation.detail
            continue
        except ValueError as error:
            errors[name] = str(error)
            continue
        values[name] = value
    for name, parameter in declared.items():
        if parameter.required and name not in given:
            errors[name] = "parameter is missing and it is not optional."
    if errors:
        raise ParameterError(errors)
    return Parameters(values)
