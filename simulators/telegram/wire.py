"""The Bot API's wire format: JSON values, error replies and request parameters.

Telegram takes a method's parameters from the query string, a form (url-encoded or multipart) or
a JSON body. In forms every value is a string and structured values (reply_markup, commands) are
JSON-encoded strings, which is what python-telegram-bot sends; `Params` reads both shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Final

type JsonValue = bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None
type JsonObject = dict[str, JsonValue]

_TRUE_STRINGS: Final = frozenset({"true", "1", "yes", "on"})


class BotApiError(Exception):
    """A Bot API error reply: `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        """An error with Telegram's code and description; 429s say when to retry."""
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def __str__(self) -> str:
        """The description, as Telegram words it."""
        return self.description

    def to_json(self) -> JsonObject:
        """The reply body Telegram sends for this error."""
        body: JsonObject = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> BotApiError:
    """A 400 error; Telegram prefixes every such description with "Bad Request: "."""
    return BotApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> BotApiError:
    """A 403 error, e.g. a user who blocked the bot."""
    return BotApiError(403, f"Forbidden: {reason}")


UNAUTHORIZED: Final = BotApiError(401, "Unauthorized")
NOT_FOUND: Final = BotApiError(404, "Not Found")


class Params:
    """A method's parameters, however they were sent, read with Telegram's leniency."""

    def __init__(self, values: Mapping[str, JsonValue]) -> None:
        """Wrap the merged query, form or JSON parameters."""
        self._values = dict(values)

    def as_json(self) -> JsonObject:
        """The parameters as received, for the call log."""
        return dict(self._values)

    def has(self, name: str) -> bool:
        """Whether the parameter was sent (a form's empty string counts as not sent)."""
        return self._values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        """A string parameter; numbers sent in JSON bodies read as their text."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        raise bad_request(f'field "{name}" must be of type String')

    def integer(self, name: str) -> int | None:
        """An integer parameter, from a number or its decimal text."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Integer')

    def number(self, name: str) -> float | None:
        """A number parameter (getUpdates' timeout may be fractional)."""
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise bad_request(f'field "{name}" must be of type Number')

    def flag(self, name: str) -> bool:
        """A Boolean parameter; absent reads as False."""
        value = self._values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in _TRUE_STRINGS
        return False

    def structured(self, name: str) -> JsonValue:
        """An object or array parameter: decoded from a form's JSON text, or as sent in JSON."""
        value = self._values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                decoded: JsonValue = json.loads(value)
            except ValueError as err:
                raise bad_request(f"can't parse {name} JSON object") from err
            return decoded
        return value
