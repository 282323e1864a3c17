"""The Bot API methods Home Assistant's telegram_bot calls, answered from `BotState`.

Each handler takes the request's parameters and returns the `result` of a successful reply, or
raises `BotApiError` with Telegram's code and description. getUpdates waits on the update queue
and so lives with the server (`simulators.telegram.simulator`).
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import re
from typing import Final

from .formatting import ParsedText, parse
from .markup import validate_reply_markup
from .model import BotMessage, CallbackAnswer, ChatAction, ChatType, Reaction
from .state import BotState
from .wire import JsonObject, JsonValue, Params, bad_request

type Handler = Callable[[BotState, Params], JsonValue]

MAX_MESSAGE_LENGTH: Final = 4096
MAX_CALLBACK_ANSWER_LENGTH: Final = 200
MAX_COMMANDS: Final = 100
CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


def _chat_id_param(params: Params) -> int | str | None:
    """chat_id as sent: an integer id or an `@username`."""
    text = params.text("chat_id")
    if text is not None and text.startswith("@"):
        return text
    return params.integer("chat_id")


def _message_text(params: Params, name: str = "text") -> tuple[str, ParsedText]:
    """The text parameter, parsed in parse_mode and checked for length as Telegram does."""
    text = params.text(name)
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    parsed = parse(text, params.text("parse_mode"))
    if not parsed.text.strip():
        raise bad_request("text must be non-empty")
    if len(parsed.text) > MAX_MESSAGE_LENGTH:
        raise bad_request("message is too long")
    return text, parsed


def _reply_to(state: BotState, params: Params, chat_id: int) -> int | None:
    """The message being replied to, from reply_parameters or the older reply_to_message_id."""
    reply_parameters = params.structured("reply_parameters")
    allow_missing = params.flag("allow_sending_without_reply")
    message_id: int | None = params.integer("reply_to_message_id")
    if isinstance(reply_parameters, dict):
        raw_id = reply_parameters.get("message_id")
        message_id = raw_id if isinstance(raw_id, int) else None
        allow_missing = reply_parameters.get("allow_sending_without_reply") is True
    if message_id is None:
        return None
    if state.stored(chat_id, message_id) is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return message_id


def get_me(state: BotState, params: Params) -> JsonValue:
    """The bot's own user, with the capabilities getMe reports."""
    return {
        **state.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def send_message(state: BotState, params: Params) -> JsonValue:
    """Post a text message, with its parse mode and keyboard, to a known chat."""
    chat = state.writable_chat(_chat_id_param(params))
    text, parsed = _message_text(params)
    reply_markup = validate_reply_markup(params.structured("reply_markup"))
    reply_to = _reply_to(state, params, chat.id)
    if state.rate_limit is not None:
        state.rate_limit.check(chat.id)
    message = BotMessage(
        chat_id=chat.id,
        message_id=state.next_message_id(chat.id),
        text=text,
        plain_text=parsed.text,
        entities=parsed.entities,
        parse_mode=params.text("parse_mode"),
        reply_markup=reply_markup,
        date=state.now(),
        disable_notification=params.flag("disable_notification"),
        reply_to_message_id=reply_to,
        message_thread_id=params.integer("message_thread_id"),
    )
    state.store_sent(message)
    return state.message_json(message)


def _message_to_edit(state: BotState, params: Params) -> BotMessage:
    if params.has("inline_message_id"):
        # Messages sent via inline mode are not simulated, so no such id exists.
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.writable_chat(_chat_id_param(params))
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    stored = state.stored(chat.id, message_id)
    if stored is None:
        raise bad_request("message to edit not found")
    if not isinstance(stored, BotMessage):
        raise bad_request("message can't be edited")
    return stored


def _inline_markup(params: Params) -> JsonObject | None:
    """An edit's reply_markup: only inline keyboards; leaving it out removes the keyboard."""
    markup = validate_reply_markup(params.structured("reply_markup"))
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def edit_message_text(state: BotState, params: Params) -> JsonValue:
    """Replace a bot message's text (and keyboard)."""
    message = _message_to_edit(state, params)
    text, parsed = _message_text(params)
    reply_markup = _inline_markup(params)
    if (parsed.text, parsed.entities, reply_markup) == (
        message.plain_text,
        message.entities,
        message.reply_markup,
    ):
        raise bad_request(_NOT_MODIFIED)
    edited = dataclasses.replace(
        message,
        text=text,
        plain_text=parsed.text,
        entities=parsed.entities,
        parse_mode=params.text("parse_mode"),
        reply_markup=reply_markup,
        edit_date=state.now(),
    )
    state.store_edit("editMessageText", edited)
    return state.message_json(edited)


def edit_message_reply_markup(state: BotState, params: Params) -> JsonValue:
    """Replace (or with no reply_markup, remove) a bot message's inline keyboard."""
    message = _message_to_edit(state, params)
    reply_markup = _inline_markup(params)
    if reply_markup == message.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    edited = dataclasses.replace(message, reply_markup=reply_markup, edit_date=state.now())
    state.store_edit("editMessageReplyMarkup", edited)
    return state.message_json(edited)


def delete_message(state: BotState, params: Params) -> JsonValue:
    """Delete a message from a chat."""
    chat = state.chat(_chat_id_param(params))
    message_id = params.integer("message_id")
    if message_id is None or not state.delete(chat.id, message_id):
        raise bad_request("message to delete not found")
    return True


def answer_callback_query(state: BotState, params: Params) -> JsonValue:
    """Answer a button press (once), optionally with a notification or an alert."""
    query_id = params.text("callback_query_id")
    if query_id is None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    state.close_callback_query(query_id)
    state.callback_answers.append(
        CallbackAnswer(
            callback_query_id=query_id,
            text=text,
            show_alert=params.flag("show_alert"),
            url=params.text("url"),
            cache_time=params.integer("cache_time") or 0,
        )
    )
    return True


def send_chat_action(state: BotState, params: Params) -> JsonValue:
    """Show "typing…" (or another action) in a chat."""
    chat = state.writable_chat(_chat_id_param(params))
    action = params.text("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.chat_actions.append(
        ChatAction(
            chat_id=chat.id, action=action, message_thread_id=params.integer("message_thread_id")
        )
    )
    return True


def set_message_reaction(state: BotState, params: Params) -> JsonValue:
    """React to a message with emoji."""
    chat = state.writable_chat(_chat_id_param(params))
    message_id = params.integer("message_id")
    if message_id is None or state.stored(chat.id, message_id) is None:
        raise bad_request("message to react not found")
    reaction = params.structured("reaction")
    reactions = (
        tuple(item for item in reaction if isinstance(item, dict))
        if isinstance(reaction, list)
        else ()
    )
    state.reactions.append(Reaction(chat_id=chat.id, message_id=message_id, reaction=reactions))
    return True


def get_chat(state: BotState, params: Params) -> JsonValue:
    """Everything about a chat (HA's allowed-chat subentry flow asks before adding one)."""
    return state.chat(_chat_id_param(params)).full_info()


def leave_chat(state: BotState, params: Params) -> JsonValue:
    """Leave a group; the bot can no longer post there."""
    chat = state.chat(_chat_id_param(params))
    if chat.type is ChatType.PRIVATE:
        raise bad_request("chat member status can't be changed in private chats")
    state.unreachable[chat.id] = "bot is not a member of the group chat"
    return True


def _commands_key(params: Params) -> str:
    scope = params.structured("scope")
    scope_type = scope.get("type") if isinstance(scope, dict) else None
    return f"{scope_type or 'default'}:{params.text('language_code') or ''}"


def set_my_commands(state: BotState, params: Params) -> JsonValue:
    """Set the command menu shown for a scope and language."""
    commands = params.structured("commands")
    if not isinstance(commands, list) or len(commands) > MAX_COMMANDS:
        raise bad_request("commands must be an Array of at most 100 BotCommand")
    checked: list[JsonObject] = []
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        description = command.get("description") if isinstance(command, dict) else None
        if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("command description is empty")
        checked.append({"command": name, "description": description})
    state.commands[_commands_key(params)] = checked
    return True


def get_my_commands(state: BotState, params: Params) -> JsonValue:
    """The command menu for a scope and language."""
    commands: list[JsonValue] = list(state.commands.get(_commands_key(params), []))
    return commands


def delete_my_commands(state: BotState, params: Params) -> JsonValue:
    """Remove the command menu for a scope and language."""
    state.commands.pop(_commands_key(params), None)
    return True


def set_webhook(state: BotState, params: Params) -> JsonValue:
    """Remember a webhook URL (updates are not pushed to it; getUpdates then answers 409)."""
    url = params.text("url") or ""
    if url and not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.webhook_url = url
    return True


def delete_webhook(state: BotState, params: Params) -> JsonValue:
    """Forget the webhook; python-telegram-bot calls this before it starts polling."""
    if params.flag("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.webhook_url = ""
    return True


def get_webhook_info(state: BotState, params: Params) -> JsonValue:
    """The webhook URL (empty while polling) and how many updates wait."""
    return {
        "url": state.updates.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": state.updates.pending,
    }


def log_out(state: BotState, params: Params) -> JsonValue:
    """Accepted and ignored: HA logs out of the cloud API before moving to a local server."""
    return True


HANDLERS: Final[dict[str, Handler]] = {
    "getMe": get_me,
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "sendChatAction": send_chat_action,
    "setMessageReaction": set_message_reaction,
    "getChat": get_chat,
    "leaveChat": leave_chat,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "logOut": log_out,
    "close": log_out,
}
