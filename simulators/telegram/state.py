"""What the simulated Telegram knows: chats, their messages, and every record of the bot's calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import re
from typing import Final

from .formatting import utf16_length
from .markup import message_markup
from .model import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    ChatType,
    DeletedMessage,
    MessageEdit,
    Reaction,
    TelegramChat,
    TelegramUser,
)
from .updates import UpdateQueue
from .wire import BotApiError, JsonObject, bad_request, forbidden

# A command is a slash and up to 32 letters, digits or underscores, optionally addressed to a
# bot (`/stop_vm@homelab_bot`), standing at the start of the text or after whitespace.
_BOT_COMMAND: Final = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@])")
# Telegram's callback query ids are decimal 64-bit numbers; HA's answer_callback_query even
# coerces them to int, so ours must be decimal too.
_CALLBACK_ID_BASE: Final = 4_000_000_000_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingMessage:
    """A message a user sent, kept so replies and the chat's history can refer to it."""

    chat_id: int
    message_id: int
    from_user: TelegramUser
    text: str
    entities: tuple[JsonObject, ...]
    date: int


type StoredMessage = BotMessage | IncomingMessage


class RateLimit:
    """Telegram's per-chat flood control: one message a second in a chat, else 429."""

    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        """Allow one message per chat every `interval` seconds of `clock`."""
        self.interval = interval
        self._clock = clock
        self._last_sent: dict[int, float] = {}

    def check(self, chat_id: int) -> None:
        """Count a message to `chat_id`, or refuse it with retry_after in whole seconds."""
        now = self._clock()
        last = self._last_sent.get(chat_id)
        if last is not None and now - last < self.interval:
            retry_after = max(1, math.ceil(self.interval - (now - last)))
            raise BotApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self._last_sent[chat_id] = now


class BotState:
    """The bot's chats and messages, and the records tests read."""

    def __init__(
        self, bot: TelegramUser, clock: Callable[[], float], on_change: Callable[[], None]
    ) -> None:
        """Start with no chats and nothing recorded; `on_change` runs when updates move."""
        self.bot = bot
        self.clock = clock
        self.updates = UpdateQueue(first_update_id=100_000_001, on_change=on_change)
        self.rate_limit: RateLimit | None = None
        self.chats: dict[int, TelegramChat] = {}
        # Chats the bot cannot write to, with Telegram's reason (blocked, left the group).
        self.unreachable: dict[int, str] = {}
        self._messages: dict[int, dict[int, StoredMessage]] = {}
        self._last_message_id: dict[int, int] = {}
        self._callback_queries: dict[str, int] = {}  # unanswered id -> chat id
        self._callback_count = 0
        self.commands: dict[str, list[JsonObject]] = {}
        self.sent: list[BotMessage] = []
        self.edits: list[MessageEdit] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.deleted: list[DeletedMessage] = []
        self.chat_actions: list[ChatAction] = []
        self.reactions: list[Reaction] = []
        self.calls: list[ApiCall] = []

    def now(self) -> int:
        """Telegram's dates are whole Unix seconds."""
        return int(self.clock())

    # Chats

    def add_chat(self, chat: TelegramChat) -> TelegramChat:
        """Know a chat (replacing one with the same id)."""
        self.chats[chat.id] = chat
        self._messages.setdefault(chat.id, {})
        self.unreachable.pop(chat.id, None)
        return chat

    def chat(self, chat_id: int | str | None) -> TelegramChat:
        """The chat a chat_id parameter (an id or an `@username`) names, or 400 chat not found."""
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self.chats.values():
                if chat.username is not None and f"@{chat.username}" == chat_id:
                    return chat
            raise bad_request("chat not found")
        try:
            found = self.chats.get(int(chat_id))
        except ValueError:
            found = None
        if found is None:
            raise bad_request("chat not found")
        return found

    def writable_chat(self, chat_id: int | str | None) -> TelegramChat:
        """The chat, if the bot may still post to it (403 once blocked or gone)."""
        chat = self.chat(chat_id)
        if (reason := self.unreachable.get(chat.id)) is not None:
            raise forbidden(reason)
        return chat

    # Messages

    def next_message_id(self, chat_id: int) -> int:
        """Message ids count up per chat, shared by the bot's and the users' messages."""
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        return message_id

    def stored(self, chat_id: int, message_id: int) -> StoredMessage | None:
        """A message still in the chat, whoever sent it."""
        return self._messages.get(chat_id, {}).get(message_id)

    def bot_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """One of the bot's messages still in the chat, as it looks now."""
        message = self.stored(chat_id, message_id)
        return message if isinstance(message, BotMessage) else None

    def bot_messages(self, chat_id: int | None = None) -> list[BotMessage]:
        """The bot's messages still in a chat (or in every chat), oldest first, as edited."""
        chat_ids = [chat_id] if chat_id is not None else list(self._messages)
        return [
            message
            for chat in chat_ids
            for message in self._messages.get(chat, {}).values()
            if isinstance(message, BotMessage)
        ]

    def store_sent(self, message: BotMessage) -> None:
        """Keep a message the bot just sent."""
        self._messages.setdefault(message.chat_id, {})[message.message_id] = message
        self.sent.append(message)

    def store_edit(self, method: str, message: BotMessage) -> None:
        """Replace a message with its edited version."""
        self._messages[message.chat_id][message.message_id] = message
        self.edits.append(MessageEdit(method=method, message=message))

    def delete(self, chat_id: int, message_id: int) -> bool:
        """Remove a message from its chat; False when there is no such message."""
        if self._messages.get(chat_id, {}).pop(message_id, None) is None:
            return False
        self.deleted.append(DeletedMessage(chat_id=chat_id, message_id=message_id))
        return True

    def add_user_message(
        self, chat: TelegramChat, from_user: TelegramUser, text: str
    ) -> IncomingMessage:
        """A user writes in a chat; commands get bot_command entities as Telegram adds them."""
        entities: tuple[JsonObject, ...] = tuple(
            {
                "type": "bot_command",
                "offset": utf16_length(text[: match.start()]),
                "length": utf16_length(match.group(0)),
            }
            for match in _BOT_COMMAND.finditer(text)
        )
        record = IncomingMessage(
            chat_id=chat.id,
            message_id=self.next_message_id(chat.id),
            from_user=from_user,
            text=text,
            entities=entities,
            date=self.now(),
        )
        self._messages.setdefault(chat.id, {})[record.message_id] = record
        return record

    # Callback queries

    def open_callback_query(self, chat_id: int) -> str:
        """A new callback query id, answerable once."""
        self._callback_count += 1
        query_id = str(_CALLBACK_ID_BASE + self._callback_count)
        self._callback_queries[query_id] = chat_id
        return query_id

    def close_callback_query(self, query_id: str) -> None:
        """Answer a callback query; a second answer or an unknown id is refused like Telegram."""
        if self._callback_queries.pop(query_id, None) is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )

    def chat_instance(self, chat_id: int) -> str:
        """A stable identifier of the chat a button was pressed in, as callback queries carry."""
        return str((chat_id * 2_654_435_761 + self.bot.id) % 2**63)

    # Rendering

    def message_json(self, message: StoredMessage, *, with_reply: bool = True) -> JsonObject:
        """The Bot API `Message` object for a stored message."""
        chat = self.chats[message.chat_id]
        if isinstance(message, IncomingMessage):
            rendered: JsonObject = {
                "message_id": message.message_id,
                "from": message.from_user.to_api(),
                "chat": chat.to_api(),
                "date": message.date,
                "text": message.text,
            }
            if message.entities:
                rendered["entities"] = list(message.entities)
            return rendered
        rendered = {
            "message_id": message.message_id,
            "from": self.bot.to_api(),
            "chat": chat.to_api(),
            "date": message.date,
            "text": message.plain_text,
        }
        if message.entities:
            rendered["entities"] = list(message.entities)
        if message.edit_date is not None:
            rendered["edit_date"] = message.edit_date
        if message.message_thread_id is not None:
            rendered["message_thread_id"] = message.message_thread_id
        if (markup := message_markup(message.reply_markup)) is not None:
            rendered["reply_markup"] = markup
        if with_reply and message.reply_to_message_id is not None:
            replied = self.stored(message.chat_id, message.reply_to_message_id)
            if replied is not None:
                rendered["reply_to_message"] = self.message_json(replied, with_reply=False)
        return rendered


def default_chat_type(chat_id: int, title: str | None) -> ChatType:
    """Telegram's id ranges: users are positive, groups negative, supergroups -100..."""
    if title is None and chat_id > 0:
        return ChatType.PRIVATE
    if chat_id <= -1_000_000_000_000:
        return ChatType.SUPERGROUP
    return ChatType.GROUP
