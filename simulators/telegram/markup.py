"""Reply markup: Telegram's checks on keyboards, and the inline buttons tests look at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .wire import BotApiError, JsonObject, JsonValue, bad_request

MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
_BUTTON_URL_SCHEMES: Final = ("http://", "https://", "tg://")
# Fields that give an inline button something to do; a button needs exactly one.
_INLINE_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


@dataclass(frozen=True, slots=True)
class InlineButton:
    """One inline keyboard button: its label and what pressing it does."""

    text: str
    callback_data: str | None = None
    url: str | None = None


def _unparsable() -> BotApiError:
    return bad_request("can't parse reply keyboard markup JSON object")


def validate_reply_markup(markup: JsonValue) -> JsonObject | None:
    """Check a decoded reply_markup as Telegram does; return it, or None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _unparsable()
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_reply_keyboard(markup["keyboard"])
    elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
        raise _unparsable()
    return markup


def _validate_inline_keyboard(rows: JsonValue) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    buttons = [button for row in rows if isinstance(row, list) for button in row]
    if len(buttons) > MAX_INLINE_BUTTONS:
        raise bad_request("reply markup is too long")
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        actions = _INLINE_ACTIONS.intersection(button)
        if not actions:
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the "
                "inline keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url.startswith(_BUTTON_URL_SCHEMES):
                raise bad_request("BUTTON_URL_INVALID")


def _validate_reply_keyboard(rows: JsonValue) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        )
    for button in (button for row in rows if isinstance(row, list) for button in row):
        if not isinstance(button, str) and (
            not isinstance(button, dict) or not isinstance(button.get("text"), str)
        ):
            raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')


def inline_keyboard(markup: JsonObject | None) -> tuple[tuple[InlineButton, ...], ...]:
    """The inline keyboard in a (validated) reply markup, row by row; empty when there is none."""
    rows = markup.get("inline_keyboard") if markup else None
    if not isinstance(rows, list):
        return ()
    return tuple(
        tuple(_inline_button(button) for button in row if isinstance(button, dict))
        for row in rows
        if isinstance(row, list)
    )


def _inline_button(button: JsonObject) -> InlineButton:
    text, data, url = button.get("text"), button.get("callback_data"), button.get("url")
    return InlineButton(
        text=text if isinstance(text, str) else "",
        callback_data=data if isinstance(data, str) else None,
        url=url if isinstance(url, str) else None,
    )


def message_markup(markup: JsonObject | None) -> JsonObject | None:
    """The markup a Message object carries: only inline keyboards are sent back by Telegram."""
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None
