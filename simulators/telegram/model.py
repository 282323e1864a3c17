"""Who talks to the bot, and the records of what the bot did, as tests read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .markup import InlineButton, inline_keyboard
from .wire import JsonObject


class ChatType(StrEnum):
    """Telegram's chat types."""

    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramUser:
    """A Telegram account: a person writing to the bot, or the bot itself."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = "en"

    def to_api(self) -> JsonObject:
        """The Bot API `User` object."""
        user: JsonObject = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            user["last_name"] = self.last_name
        if self.username is not None:
            user["username"] = self.username
        if self.language_code is not None and not self.is_bot:
            user["language_code"] = self.language_code
        return user


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramChat:
    """A chat the bot is in: a private chat with `user`, or a group or channel with a title."""

    id: int
    type: ChatType
    title: str | None = None
    user: TelegramUser | None = None
    username: str | None = None

    def to_api(self) -> JsonObject:
        """The Bot API `Chat` object, as messages carry it."""
        chat: JsonObject = {"id": self.id, "type": str(self.type)}
        if self.type is ChatType.PRIVATE and self.user is not None:
            chat["first_name"] = self.user.first_name
            if self.user.last_name is not None:
                chat["last_name"] = self.user.last_name
        elif self.title is not None:
            chat["title"] = self.title
        username = self.username or (self.user.username if self.user else None)
        if username is not None:
            chat["username"] = username
        return chat

    def full_info(self) -> JsonObject:
        """The Bot API `ChatFullInfo` object getChat answers with."""
        return {
            **self.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class BotMessage:
    """A message the bot sent, as it looked after a send or an edit."""

    chat_id: int
    message_id: int
    text: str
    """The text as the bot sent it, markup included."""
    plain_text: str
    """The text as the chat shows it, after parsing `parse_mode`."""
    entities: tuple[JsonObject, ...] = ()
    parse_mode: str | None = None
    reply_markup: JsonObject | None = None
    date: int
    edit_date: int | None = None
    disable_notification: bool = False
    reply_to_message_id: int | None = None
    message_thread_id: int | None = None

    @property
    def inline_keyboard(self) -> tuple[tuple[InlineButton, ...], ...]:
        """The inline keyboard, row by row (empty without one)."""
        return inline_keyboard(self.reply_markup)

    @property
    def callback_data(self) -> list[str]:
        """Every button's callback data, in reading order."""
        return [
            button.callback_data
            for row in self.inline_keyboard
            for button in row
            if button.callback_data is not None
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessage:
    """A message a user sent the bot (injected by a test), and the update that carries it."""

    chat_id: int
    message_id: int
    update_id: int
    from_user: TelegramUser
    text: str
    date: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackQuery:
    """A press on an inline button (injected by a test), and the update that carries it."""

    id: str
    update_id: int
    from_user: TelegramUser
    chat_id: int
    message_id: int
    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEdit:
    """An accepted editMessageText or editMessageReplyMarkup, with the message after it."""

    method: str
    message: BotMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackAnswer:
    """An accepted answerCallbackQuery."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedMessage:
    """An accepted deleteMessage."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatAction:
    """An accepted sendChatAction ("typing" and the like)."""

    chat_id: int
    action: str
    message_thread_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction:
    """An accepted setMessageReaction."""

    chat_id: int
    message_id: int
    reaction: tuple[JsonObject, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiCall:
    """One request to the bot's token: the method, its parameters and how it was answered."""

    method: str
    params: JsonObject = field(default_factory=dict)
    error_code: int | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Telegram would have answered `"ok": true`."""
        return self.error_code is None
