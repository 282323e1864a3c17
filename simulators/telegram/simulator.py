"""TelegramBotApi: a local Telegram Bot API server for one bot, and its Python API for tests."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
import json
import re
import time
from types import TracebackType
from typing import Final, Self

from aiohttp import web

from simulators.faults import FaultQueue, FaultRule

from .control import add_control_routes
from .methods import HANDLERS
from .model import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    CallbackQuery,
    ChatAction,
    ChatType,
    DeletedMessage,
    MessageEdit,
    Reaction,
    TelegramChat,
    TelegramUser,
    UserMessage,
)
from .state import BotState, RateLimit, default_chat_type
from .updates import MAX_UPDATES_PER_CALL
from .wire import NOT_FOUND, UNAUTHORIZED, BotApiError, JsonObject, JsonValue, Params, bad_request

DEFAULT_TOKEN: Final = "123456:TEST-TOKEN"  # noqa: S105 - the simulator's published test token
MAX_CALL_LOG: Final = 10_000
_TOKEN_FORMAT: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}")
_NOT_STARTED: Final = "the Telegram Bot API simulator has not been started"
_METHOD_NAMES: Final = {name.lower(): name for name in (*HANDLERS, "getUpdates")}


@dataclass(slots=True, kw_only=True)
class BotApiFault(FaultRule):
    """An error the next matching method calls answer with instead of their result."""

    error: BotApiError


class BotApiFaults(FaultQueue[BotApiFault]):
    """Errors injected into Bot API methods, matched by an fnmatch pattern on the method name."""

    def inject(
        self,
        method: str,
        *,
        error_code: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        count: int | None = 1,
    ) -> BotApiFault:
        """Answer the next `count` calls of `method` (None: every call) with this error."""
        return self._add(
            BotApiFault(
                pattern=method,
                method=None,
                remaining=count,
                error=BotApiError(error_code, description, retry_after),
            )
        )


class TelegramBotApi:
    """Telegram's Bot API for one bot on `host:port` over plain HTTP.

    See the package docstring (`simulators.telegram`) for the whole Python API.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_first_name: str = "Homelab Agents",
        bot_username: str = "homelab_agents_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: bool = False,
        rate_limit_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Build the bot; nothing listens until `start()`.

        The bot's user id is the number before the token's colon, as on Telegram.
        `rate_limit` turns on per-chat flood control (one message per `rate_limit_interval`
        seconds of `clock` in each chat, else 429 with retry_after).
        """
        if not _TOKEN_FORMAT.fullmatch(token):
            raise ValueError(f"not a bot token: {token!r} (expected digits:secret)")
        self.token = token
        self.bot = TelegramUser(
            id=int(token.split(":", 1)[0]),
            first_name=bot_first_name,
            username=bot_username,
            is_bot=True,
        )
        self._host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._state = BotState(self.bot, clock, self._notify)
        self._rate_limit_interval = rate_limit_interval
        self.rate_limit = rate_limit
        self.faults = BotApiFaults()
        self._calls: deque[ApiCall] = deque(maxlen=MAX_CALL_LOG)

    # Lifecycle

    async def start(self) -> None:
        """Listen on host:port (port 0: the OS picks one)."""
        if self._runner is not None:
            raise RuntimeError("the Telegram Bot API simulator is already running")
        application = web.Application()
        add_control_routes(application, self)
        application.router.add_route("*", "/{bot}/{method}", self._handle)
        # Held long polls are released before cleanup, so a short shutdown wait is enough.
        runner = web.AppRunner(application, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._requested_port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._state.updates.reopen()

    async def stop(self) -> None:
        """Answer a held getUpdates at once, then close every connection and stop listening."""
        self._state.updates.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            # One loop turn lets the released long poll write its (empty) answer.
            await asyncio.sleep(0)
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start, for `async with TelegramBotApi() as bot_api:`."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    @property
    def host(self) -> str:
        """The address listened on."""
        return self._host

    @property
    def port(self) -> int:
        """The port listened on (the OS's pick when started with port 0)."""
        if self._port is None:
            raise RuntimeError(_NOT_STARTED)
        return self._port

    @property
    def url(self) -> str:
        """The API endpoint for HA's telegram_bot (`api_endpoint`), e.g. `http://127.0.0.1:8081`.

        python-telegram-bot calls `{url}/bot{token}/{method}`.
        """
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The bot's method base, `{url}/bot{token}`: append `/getMe` and the like."""
        return f"{self.url}/bot{self.token}"

    # Behaviour switches

    @property
    def rate_limit(self) -> bool:
        """Whether per-chat flood control answers too frequent messages with 429."""
        return self._state.rate_limit is not None

    @rate_limit.setter
    def rate_limit(self, enabled: bool) -> None:
        if enabled and self._state.rate_limit is None:
            self._state.rate_limit = RateLimit(self._rate_limit_interval, self._state.clock)
        elif not enabled:
            self._state.rate_limit = None

    # Chats

    def add_chat(
        self,
        chat_id: int,
        *,
        user: TelegramUser | None = None,
        title: str | None = None,
        chat_type: ChatType | None = None,
        username: str | None = None,
    ) -> TelegramChat:
        """Make a chat known: a private chat with `user`, or a group/channel with a `title`.

        Sending to a chat that was never added answers 400 "chat not found", like Telegram for
        a user who never started the bot.
        """
        kind = chat_type or default_chat_type(chat_id, title)
        if kind is ChatType.PRIVATE and user is None:
            raise ValueError("a private chat needs the user the bot talks to")
        return self._state.add_chat(
            TelegramChat(id=chat_id, type=kind, title=title, user=user, username=username)
        )

    def chat(self, chat_id: int) -> TelegramChat:
        """A known chat."""
        return self._known_chat(chat_id)

    def set_blocked(self, chat_id: int, *, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends then answer 403."""
        chat = self._known_chat(chat_id)
        if blocked:
            self._state.unreachable[chat.id] = "bot was blocked by the user"
        else:
            self._state.unreachable.pop(chat.id, None)

    # What users do

    def send_text(self, from_user: TelegramUser, chat_id: int, text: str) -> UserMessage:
        """`from_user` writes `text` in a chat; the bot receives it through getUpdates.

        Commands (`/stop_vm 101`, `/status@homelab_agents_bot`) carry bot_command entities.
        """
        chat = self._known_chat(chat_id)
        incoming = self._state.add_user_message(chat, from_user, text)
        update_id = self._state.updates.put("message", self._state.message_json(incoming))
        return UserMessage(
            chat_id=chat.id,
            message_id=incoming.message_id,
            update_id=update_id,
            from_user=from_user,
            text=text,
            date=incoming.date,
        )

    def press_button(
        self, from_user: TelegramUser, chat_id: int, message_id: int, callback_data: str
    ) -> CallbackQuery:
        """`from_user` presses the inline button with `callback_data` under a bot message.

        Raises ValueError when the message or the button does not exist (any more): a user
        cannot press it then either.
        """
        chat = self._known_chat(chat_id)
        message = self._state.bot_message(chat.id, message_id)
        if message is None:
            raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
        if callback_data not in message.callback_data:
            raise ValueError(
                f"message {message_id} has no button with callback data {callback_data!r} "
                f"(it has {message.callback_data})"
            )
        query_id = self._state.open_callback_query(chat.id)
        update_id = self._state.updates.put(
            "callback_query",
            {
                "id": query_id,
                "from": from_user.to_api(),
                "message": self._state.message_json(message),
                "chat_instance": self._state.chat_instance(chat.id),
                "data": callback_data,
            },
        )
        return CallbackQuery(
            id=query_id,
            update_id=update_id,
            from_user=from_user,
            chat_id=chat.id,
            message_id=message_id,
            data=callback_data,
        )

    def inject_update(self, kind: str, payload: JsonObject) -> int:
        """Queue a raw update of `kind` (e.g. "edited_message"); return its update_id."""
        return self._state.updates.put(kind, payload)

    # What the bot did

    @property
    def sent(self) -> list[BotMessage]:
        """Every message the bot sent, as sent, oldest first (edits and deletions aside)."""
        return list(self._state.sent)

    @property
    def edits(self) -> list[MessageEdit]:
        """Every accepted editMessageText / editMessageReplyMarkup, oldest first."""
        return list(self._state.edits)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """Every accepted answerCallbackQuery, oldest first."""
        return list(self._state.callback_answers)

    @property
    def deleted(self) -> list[DeletedMessage]:
        """Every accepted deleteMessage, oldest first."""
        return list(self._state.deleted)

    @property
    def chat_actions(self) -> list[ChatAction]:
        """Every accepted sendChatAction, oldest first."""
        return list(self._state.chat_actions)

    @property
    def reactions(self) -> list[Reaction]:
        """Every accepted setMessageReaction, oldest first."""
        return list(self._state.reactions)

    @property
    def calls(self) -> list[ApiCall]:
        """The last requests to the bot's token (up to 10,000), errors included."""
        return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The logged calls of one method."""
        return [call for call in self._calls if call.method == method]

    def messages(self, chat_id: int | None = None) -> list[BotMessage]:
        """The bot's messages still in a chat (or all chats), oldest first, as last edited."""
        return self._state.bot_messages(chat_id)

    def last_message(self, chat_id: int) -> BotMessage | None:
        """The bot's newest message still in a chat, as last edited."""
        messages = self._state.bot_messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int, message_id: int) -> BotMessage | None:
        """One of the bot's messages, as last edited; None once deleted."""
        return self._state.bot_message(chat_id, message_id)

    def commands(self, scope: str = "default", language_code: str = "") -> list[JsonObject]:
        """The command menu setMyCommands set for a scope type and language."""
        return list(self._state.commands.get(f"{scope}:{language_code}", []))

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet."""
        return self._state.updates.pending

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is being held right now."""
        return self._state.updates.polling

    # Waiting (for code under test that talks to the simulator from the same event loop)

    async def wait_until(
        self, condition: Callable[[], bool], seconds: float = 5.0, what: str = "condition"
    ) -> None:
        """Return once `condition()` holds; it is rechecked whenever a request was answered."""
        try:
            async with asyncio.timeout(seconds):
                while not condition():
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(f"{what} not reached within {seconds} s") from None

    async def wait_for_message(
        self,
        predicate: Callable[[BotMessage], bool] | None = None,
        *,
        chat_id: int | None = None,
        seconds: float = 5.0,
    ) -> BotMessage:
        """The first sent message (already sent ones included) matching the filters, as sent."""

        def matching() -> BotMessage | None:
            for message in self._state.sent:
                if (chat_id is None or message.chat_id == chat_id) and (
                    predicate is None or predicate(message)
                ):
                    return message
            return None

        await self.wait_until(lambda: matching() is not None, seconds, "a matching message")
        found = matching()
        if found is None:
            raise AssertionError("the matching message disappeared")
        return found

    async def wait_for_edit(
        self, predicate: Callable[[MessageEdit], bool] | None = None, *, seconds: float = 5.0
    ) -> MessageEdit:
        """The first edit (already made ones included) matching `predicate`."""

        def matching() -> MessageEdit | None:
            return next(
                (edit for edit in self._state.edits if predicate is None or predicate(edit)), None
            )

        await self.wait_until(lambda: matching() is not None, seconds, "a matching edit")
        found = matching()
        if found is None:
            raise AssertionError("the matching edit disappeared")
        return found

    async def wait_for_callback_answer(
        self, callback_query_id: str | None = None, *, seconds: float = 5.0
    ) -> CallbackAnswer:
        """The answer to a callback query (or the first answer at all)."""

        def matching() -> CallbackAnswer | None:
            return next(
                (
                    answer
                    for answer in self._state.callback_answers
                    if callback_query_id is None or answer.callback_query_id == callback_query_id
                ),
                None,
            )

        await self.wait_until(lambda: matching() is not None, seconds, "a callback answer")
        found = matching()
        if found is None:
            raise AssertionError("the callback answer disappeared")
        return found

    async def wait_for_delivery(self, update_id: int, seconds: float = 5.0) -> None:
        """Return once the bot confirmed an update (a getUpdates with a higher offset)."""
        await self.wait_until(
            lambda: not self._state.updates.is_pending(update_id),
            seconds,
            f"confirmation of update {update_id}",
        )

    async def wait_for_polling(self, seconds: float = 5.0) -> None:
        """Return once a client holds a getUpdates long poll: it is ready for updates."""
        await self.wait_until(lambda: self._state.updates.polling, seconds, "a long poll")

    # Internals

    def _notify(self) -> None:
        """Wake every `wait_until`: the state they look at may have changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _known_chat(self, chat_id: int) -> TelegramChat:
        chat = self._state.chats.get(chat_id)
        if chat is None:
            raise ValueError(f"chat {chat_id} was never added (add_chat)")
        return chat

    async def _handle(self, request: web.Request) -> web.Response:
        """`/bot{token}/{method}`: check the token, run the method, answer in Telegram's shape."""
        segment, requested = request.match_info["bot"], request.match_info["method"]
        if not segment.startswith("bot"):
            return _reply_error(NOT_FOUND)
        token = segment.removeprefix("bot")
        if token != self.token:
            return _reply_error(UNAUTHORIZED if _TOKEN_FORMAT.fullmatch(token) else NOT_FOUND)
        method = _METHOD_NAMES.get(requested.lower(), requested)
        params = Params({})
        try:
            params = await _read_params(request)
            if method not in _METHOD_NAMES.values():
                raise NOT_FOUND
            if (fault := self.faults.take(request.method, method)) is not None:
                raise fault.error
            result = await self._call(method, params)
        except BotApiError as err:
            self._log(
                ApiCall(
                    method=method,
                    params=params.as_json(),
                    error_code=err.error_code,
                    description=err.description,
                )
            )
            return _reply_error(err)
        self._log(ApiCall(method=method, params=params.as_json()))
        return web.json_response({"ok": True, "result": result})

    async def _call(self, method: str, params: Params) -> JsonValue:
        if method == "getUpdates":
            allowed = params.structured("allowed_updates")
            updates = await self._state.updates.get(
                offset=params.integer("offset"),
                limit=params.integer("limit") or MAX_UPDATES_PER_CALL,
                poll_seconds=params.number("timeout") or 0.0,
                allowed_updates=_strings(allowed) if isinstance(allowed, list) else None,
            )
            result: list[JsonValue] = list(updates)
            return result
        return HANDLERS[method](self._state, params)

    def _log(self, call: ApiCall) -> None:
        self._calls.append(call)
        self._notify()


def _strings(values: list[JsonValue]) -> Collection[str]:
    return [value for value in values if isinstance(value, str)]


def _reply_error(error: BotApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.error_code)


async def _read_params(request: web.Request) -> Params:
    """Merge the query string and the body (JSON, url-encoded or multipart form)."""
    values: dict[str, JsonValue] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body: JsonValue = json.loads(await request.text())
            except ValueError as err:
                raise bad_request("can't parse JSON object") from err
            if not isinstance(body, dict):
                raise bad_request("can't parse JSON object")
            values.update(body)
        else:
            form = await request.post()
            # Uploaded files are not simulated; only the text fields matter.
            values.update({name: value for name, value in form.items() if isinstance(value, str)})
    return Params(values)
