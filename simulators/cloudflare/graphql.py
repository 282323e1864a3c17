"""A small GraphQL reader: enough of the query language for Cloudflare's analytics queries.

It parses one query operation (optionally named, with variable definitions), fields with
aliases, arguments (variables, strings, numbers, booleans, null, enums, lists and input
objects) and nested selection sets. Fragments, directives and mutations are not part of it:
they are reported as syntax errors, like anything else it cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re
from typing import Any, Final

_TOKEN: Final = re.compile(
    r"""
    (?P<skip>[\s,]+|\#[^\n]*)
    |(?P<punct>[{}()\[\]:!$=])
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


class GraphQLSyntaxError(ValueError):
    """The query is not (our subset of) GraphQL."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `$name` reference in an argument."""

    name: str


@dataclass(frozen=True, slots=True)
class EnumValue:
    """A bare name used as a value, e.g. `datetime_ASC`."""

    name: str


@dataclass(slots=True)
class Field:
    """One selected field: `alias: name(arguments) { selections }`."""

    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)

    @property
    def response_key(self) -> str:
        """The key the field's value has in the answer."""
        return self.alias or self.name


@dataclass(slots=True)
class Operation:
    """A parsed query: its variables' defaults and its top-level selections."""

    selections: list[Field]
    variable_defaults: dict[str, Any] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise GraphQLSyntaxError(f"unexpected character {source[position]!r} at {position}")
        position = match.end()
        kind = match.lastgroup
        if kind is not None and kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self._tokens = _tokens(source)
        self._index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise GraphQLSyntaxError("unexpected end of the query")
        self._index += 1
        return token

    def _expect(self, text: str) -> None:
        kind, value = self._next()
        if kind != "punct" or value != text:
            raise GraphQLSyntaxError(f"expected {text!r}, found {value!r}")

    def _at(self, text: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "punct" and token[1] == text

    def _name(self) -> str:
        kind, value = self._next()
        if kind != "name":
            raise GraphQLSyntaxError(f"expected a name, found {value!r}")
        return value

    def operation(self) -> Operation:
        operation = Operation(selections=[])
        token = self._peek()
        if token is not None and token[0] == "name":
            if token[1] != "query":
                raise GraphQLSyntaxError(f"only queries are supported, not {token[1]!r}")
            self._next()
            if (self._peek() or ("", ""))[0] == "name":
                self._next()  # the operation's name
            if self._at("("):
                self._variable_definitions(operation)
        operation.selections = self._selection_set()
        if self._peek() is not None:
            raise GraphQLSyntaxError("only one operation per document is supported")
        return operation

    def _variable_definitions(self, operation: Operation) -> None:
        self._expect("(")
        while not self._at(")"):
            self._expect("$")
            name = self._name()
            self._expect(":")
            self._type()
            operation.variables.add(name)
            if self._at("="):
                self._next()
                operation.variable_defaults[name] = self._value()
        self._expect(")")

    def _type(self) -> None:
        if self._at("["):
            self._next()
            self._type()
            self._expect("]")
        else:
            self._name()
        if self._at("!"):
            self._next()

    def _selection_set(self) -> list[Field]:
        self._expect("{")
        selections: list[Field] = []
        while not self._at("}"):
            selections.append(self._field())
        self._expect("}")
        if not selections:
            raise GraphQLSyntaxError("empty selection set")
        return selections

    def _field(self) -> Field:
        name = self._name()
        alias = None
        if self._at(":"):
            self._next()
            alias, name = name, self._name()
        selected = Field(name=name, alias=alias)
        if self._at("("):
            self._next()
            while not self._at(")"):
                argument = self._name()
                self._expect(":")
                selected.arguments[argument] = self._value()
            self._expect(")")
        if self._at("{"):
            selected.selections = self._selection_set()
        return selected

    def _value(self) -> Any:
        kind, value = self._next()
        if kind == "punct":
            if value == "$":
                return Variable(self._name())
            if value == "[":
                items = []
                while not self._at("]"):
                    items.append(self._value())
                self._expect("]")
                return items
            if value == "{":
                fields: dict[str, Any] = {}
                while not self._at("}"):
                    key = self._name()
                    self._expect(":")
                    fields[key] = self._value()
                self._expect("}")
                return fields
            raise GraphQLSyntaxError(f"unexpected {value!r} where a value belongs")
        if kind == "string":
            return bytes(value[1:-1], "utf-8").decode("unicode_escape")
        if kind == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        return EnumValue(value)


def parse(source: str) -> Operation:
    """Parse one query operation; GraphQLSyntaxError when it is not in the supported subset."""
    return _Parser(source).operation()


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """An argument's value with its variables substituted (a missing one is an error)."""
    if isinstance(value, Variable):
        if value.name not in variables:
            raise GraphQLSyntaxError(f"variable ${value.name} is not provided")
        return variables[value.name]
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    return value
