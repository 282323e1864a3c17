"""A local Telegram Bot API server for one bot, so Home Assistant's real telegram_bot can run.

It serves `{url}/bot{token}/{method}` over plain HTTP the way python-telegram-bot calls Telegram:
parameters as query, url-encoded or multipart form (JSON-encoded structured fields) or a JSON
body; answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code": 400,
"description": "Bad Request: ..."}`. Point Home Assistant's telegram_bot at it with the config
entry's `api_endpoint` (the config flow's "additional settings"), set to `bot_api.url`.

Start it on the running event loop::

    bot_api = TelegramBotApi(
        token="123456:TEST-TOKEN",   # the bot id is the part before the colon
        bot_first_name="Homelab Agents", bot_username="homelab_agents_bot",
        host="127.0.0.1", port=0,    # 0: the OS picks a port
        rate_limit=False,            # True: >1 message/s in a chat answers 429 retry_after
        rate_limit_interval=1.0, clock=time.time,
    )
    await bot_api.start()            # also: async with TelegramBotApi() as bot_api:
    bot_api.url                      # "http://127.0.0.1:PORT": HA's api_endpoint
    bot_api.api_url                  # "{url}/bot{token}", for direct requests
    bot_api.token, bot_api.bot       # the bot's TelegramUser (getMe)
    await bot_api.stop()             # answers a held getUpdates at once, closes connections

Chats (the bot can only write to chats added here; others answer "chat not found")::

    alice = TelegramUser(id=1001, first_name="Alice", last_name="Admin", username="alice")
    bot_api.add_chat(1001, user=alice)               # a private chat
    bot_api.add_chat(-1001234567890, title="Homelab")  # a supergroup (ids pick the type)
    bot_api.set_blocked(1001)                         # sends answer 403 "bot was blocked..."

What users do, delivered to the bot through getUpdates (long polls wake at once)::

    message = bot_api.send_text(alice, 1001, "/stop_vm 101")  # UserMessage: message_id,
                                                              # update_id; bot_command entity
    query = bot_api.press_button(alice, 1001, message_id, "/stop_vm 101")  # CallbackQuery: id
    bot_api.inject_update("edited_message", {...})            # anything else, raw

What the bot did (records are frozen dataclasses, oldest first)::

    bot_api.sent                  # [BotMessage] as sent: chat_id, message_id, text (as sent),
                                  #   plain_text, entities, parse_mode, reply_markup,
                                  #   inline_keyboard (rows of InlineButton), callback_data
    bot_api.messages(chat_id)     # the bot's messages still in the chat, as last edited
    bot_api.last_message(chat_id), bot_api.message(chat_id, message_id)
    bot_api.edits                 # [MessageEdit]: method, message (after the edit)
    bot_api.callback_answers      # [CallbackAnswer]: callback_query_id, text, show_alert, ...
    bot_api.deleted, bot_api.chat_actions, bot_api.reactions, bot_api.commands()
    bot_api.calls, bot_api.calls_to("getUpdates")  # [ApiCall]: method, params, error_code
    bot_api.pending_updates, bot_api.polling       # unconfirmed updates; a long poll is held

Waiting (each raises TimeoutError after `seconds`)::

    await bot_api.wait_for_message(lambda m: "101" in m.text, chat_id=1001, seconds=5)
    await bot_api.wait_for_edit(predicate), await bot_api.wait_for_callback_answer(query.id)
    await bot_api.wait_for_delivery(message.update_id)  # the bot confirmed the update
    await bot_api.wait_for_polling()                    # a client holds a long poll
    await bot_api.wait_until(lambda: len(bot_api.sent) == 3)

Faults: `bot_api.faults.inject("sendMessage", error_code=502, description="Bad Gateway",
count=1)` answers the next matching calls (fnmatch on the method name) with that error;
`bot_api.rate_limit = True` switches flood control on at run time.

Methods served: getMe, getUpdates (offset confirmation, long polling, allowed_updates, 409 when
a second poller or a webhook competes), sendMessage, editMessageText, editMessageReplyMarkup,
deleteMessage, answerCallbackQuery, sendChatAction, setMessageReaction, getChat, leaveChat,
setMyCommands, getMyCommands, deleteMyCommands, setWebhook, deleteWebhook, getWebhookInfo,
logOut, close. Anything else (photos, files, polls, inline mode) answers 404 "Not Found".
Checked like Telegram: the token (401), unknown chats, text length (4096 after parsing), parse
modes Markdown / MarkdownV2 / HTML ("can't parse entities: ..."), inline keyboards
(callback_data of 1-64 bytes, button URLs), edits of missing or unchanged messages, callback
queries answered once.

Stand-alone, with an HTTP control API under `/simulator/` (see `simulators.telegram.control`):
`python -m simulators.telegram --port 8081 --chat 1001:Alice`.
"""

from __future__ import annotations

from .markup import InlineButton
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
from .simulator import DEFAULT_TOKEN, BotApiFault, BotApiFaults, TelegramBotApi
from .wire import BotApiError

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "BotApiError",
    "BotApiFault",
    "BotApiFaults",
    "BotMessage",
    "CallbackAnswer",
    "CallbackQuery",
    "ChatAction",
    "ChatType",
    "DeletedMessage",
    "InlineButton",
    "MessageEdit",
    "Reaction",
    "TelegramBotApi",
    "TelegramChat",
    "TelegramUser",
    "UserMessage",
]
