"""An HTTP side door for driving the simulator from outside its process (the demo, curl).

The routes live under `/simulator/`, beside the Bot API, and mirror the Python API:

- `POST /simulator/chats` `{"chat_id": 1001, "user": {"id": 1001, "first_name": "Alice"}}` or
  `{"chat_id": -100123, "title": "Homelab"}`: add a chat.
- `POST /simulator/messages` `{"chat_id": 1001, "text": "/status", "from": {...}}`: a user
  writes to the bot (`from` defaults to the private chat's user); answers the message and
  update ids.
- `POST /simulator/button_presses`
  `{"chat_id": 1001, "message_id": 3, "callback_data": "/stop_vm 101", "from": {...}}`:
  a user presses an inline button; answers the callback query and update ids.
- `GET /simulator/messages?chat_id=1001`: the bot's messages still in the chat, as edited.

Errors answer 400 with `{"error": "..."}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
import json
from typing import TYPE_CHECKING

from aiohttp import web

from .model import BotMessage, TelegramUser
from .wire import JsonObject, JsonValue

if TYPE_CHECKING:
    from .simulator import TelegramBotApi


def add_control_routes(application: web.Application, bot_api: TelegramBotApi) -> None:
    """Register the `/simulator/` routes for `bot_api` (before the Bot API's catch-all route)."""
    control = _Control(bot_api)
    application.router.add_post("/simulator/chats", control.add_chat)
    application.router.add_post("/simulator/messages", control.send_text)
    application.router.add_get("/simulator/messages", control.messages)
    application.router.add_post("/simulator/button_presses", control.press_button)


class _ControlError(Exception):
    """A request the simulator cannot act on."""


class _Control:
    def __init__(self, bot_api: TelegramBotApi) -> None:
        self._bot_api = bot_api

    async def add_chat(self, request: web.Request) -> web.Response:
        def act(body: JsonObject) -> JsonValue:
            user = body.get("user")
            title = body.get("title")
            chat = self._bot_api.add_chat(
                _integer(body, "chat_id"),
                user=_user(user) if isinstance(user, dict) else None,
                title=title if isinstance(title, str) else None,
            )
            return chat.to_api()

        return await _answer(request, act)

    async def send_text(self, request: web.Request) -> web.Response:
        def act(body: JsonObject) -> JsonValue:
            chat_id = _integer(body, "chat_id")
            text = body.get("text")
            if not isinstance(text, str):
                raise _ControlError('"text" must be a string')
            message = self._bot_api.send_text(self._sender(body, chat_id), chat_id, text)
            return {"message_id": message.message_id, "update_id": message.update_id}

        return await _answer(request, act)

    async def press_button(self, request: web.Request) -> web.Response:
        def act(body: JsonObject) -> JsonValue:
            chat_id = _integer(body, "chat_id")
            data = body.get("callback_data")
            if not isinstance(data, str):
                raise _ControlError('"callback_data" must be a string')
            query = self._bot_api.press_button(
                self._sender(body, chat_id), chat_id, _integer(body, "message_id"), data
            )
            return {"callback_query_id": query.id, "update_id": query.update_id}

        return await _answer(request, act)

    async def messages(self, request: web.Request) -> web.Response:
        try:
            chat_id = int(request.query["chat_id"])
        except KeyError, ValueError:
            return web.json_response({"error": "chat_id must be an integer"}, status=400)
        return web.json_response([_message(message) for message in self._bot_api.messages(chat_id)])

    def _sender(self, body: JsonObject, chat_id: int) -> TelegramUser:
        sender = body.get("from")
        if isinstance(sender, dict):
            return _user(sender)
        chat = self._bot_api.chat(chat_id)
        if chat.user is None:
            raise _ControlError('"from" is required outside private chats')
        return chat.user


async def _answer(request: web.Request, act: Callable[[JsonObject], JsonValue]) -> web.Response:
    """Run `act` on the JSON body; refusals answer 400 with the reason."""
    try:
        return web.json_response(act(_json_object(await request.text())))
    except (ValueError, _ControlError) as err:
        return web.json_response({"error": str(err)}, status=400)


def _json_object(text: str) -> JsonObject:
    body = json.loads(text)
    if not isinstance(body, dict):
        raise _ControlError("the body must be a JSON object")
    return body


def _integer(body: JsonObject, name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _ControlError(f'"{name}" must be an integer')
    return value


def _user(fields: JsonObject) -> TelegramUser:
    user_id, first_name = fields.get("id"), fields.get("first_name")
    last_name, username = fields.get("last_name"), fields.get("username")
    if isinstance(user_id, bool) or not isinstance(user_id, int) or not isinstance(first_name, str):
        raise _ControlError('a user needs an integer "id" and a "first_name"')
    return TelegramUser(
        id=user_id,
        first_name=first_name,
        last_name=last_name if isinstance(last_name, str) else None,
        username=username if isinstance(username, str) else None,
    )


def _message(message: BotMessage) -> JsonObject:
    fields: JsonObject = {key: value for key, value in asdict(message).items() if key != "entities"}
    fields["entities"] = list(message.entities)
    return fields
