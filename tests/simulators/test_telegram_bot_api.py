"""The Telegram Bot API stand-in, and Home Assistant's real telegram_bot talking to it both ways.

The first half drives the stand-in with plain HTTP requests as python-telegram-bot sends them
(form fields, JSON-encoded structured values). The second half sets up HA's own telegram_bot
integration (polling platform) through its config flow with `api_endpoint` pointing at the
stand-in, and checks what a user would notice: messages with buttons arrive, commands and
button presses become HA events, strangers are ignored, Telegram's refusals surface as errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import html
import json
from pathlib import Path
import signal
import subprocess
import sys
import time
from typing import Any
from urllib.request import urlopen

import aiohttp
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_PLATFORM
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from hypothesis import given, strategies as st
import pytest
from telegram.helpers import escape_markdown

from simulators.telegram import DEFAULT_TOKEN, TelegramBotApi, TelegramUser
from simulators.telegram.formatting import parse
from simulators.telegram.wire import JsonObject

REPO_ROOT = Path(__file__).resolve().parents[2]

# python-telegram-bot 22.7's own deprecations, raised inside the library while HA uses it.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:'asyncio.iscoroutinefunction' is deprecated:DeprecationWarning:telegram"
    ),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]
TELEGRAM = "telegram_bot"
ALICE = TelegramUser(id=1001, first_name="Alice", last_name="Admin", username="alice")
MALLORY = TelegramUser(id=6666, first_name="Mallory")
RESERVED_DOT = (
    "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the "
    "preceding '\\'"
)


@pytest.fixture
async def bot_api() -> AsyncGenerator[TelegramBotApi]:
    """The stand-in on a free port, with a private chat for Alice and one for Mallory."""
    async with TelegramBotApi() as api:
        api.add_chat(ALICE.id, user=ALICE)
        api.add_chat(MALLORY.id, user=MALLORY)
        yield api


@pytest.fixture
async def http() -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    bot_api: TelegramBotApi,
    method: str,
    *,
    token: str | None = None,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """POST a method as python-telegram-bot does: a form, structured values JSON-encoded."""
    form = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in params.items()
    }
    url = f"{bot_api.url}/bot{token or bot_api.token}/{method}"
    async with http.post(url, data=form) as response:
        return response.status, await response.json()


def keyboard(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


# The stand-in over HTTP


async def test_get_me_answers_the_bot_and_a_wrong_token_is_unauthorized(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    status, body = await call(http, bot_api, "getMe")
    wrong_status, wrong = await call(http, bot_api, "getMe", token="123456:WRONG")

    assert status == 200
    assert body["ok"] is True
    assert body["result"]["id"] == 123456
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == "homelab_agents_bot"
    assert wrong_status == 401
    assert wrong == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_send_message_records_chat_text_parse_mode_and_buttons(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    status, body = await call(
        http,
        bot_api,
        "sendMessage",
        chat_id=ALICE.id,
        text="*VM 101* stopped",
        parse_mode="MarkdownV2",
        reply_markup=keyboard([("Start", "/start_vm 101"), ("Ignore", "ignore")]),
    )

    sent = bot_api.last_message(ALICE.id)
    assert status == 200
    assert sent is not None
    assert body["result"]["message_id"] == sent.message_id
    assert body["result"]["text"] == "VM 101 stopped"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 6}]
    assert body["result"]["reply_markup"] == sent.reply_markup
    assert (sent.chat_id, sent.text, sent.parse_mode) == (
        ALICE.id,
        "*VM 101* stopped",
        "MarkdownV2",
    )
    assert [(button.text, button.callback_data) for button in sent.inline_keyboard[0]] == [
        ("Start", "/start_vm 101"),
        ("Ignore", "ignore"),
    ]
    assert bot_api.sent == [sent]


async def test_json_bodies_and_query_strings_work_like_forms(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    async with http.post(
        f"{bot_api.api_url}/sendMessage", json={"chat_id": ALICE.id, "text": "from curl"}
    ) as response:
        json_body = await response.json()
    async with http.get(f"{bot_api.api_url}/SENDMESSAGE?chat_id=1001&text=query") as response:
        query_body = await response.json()

    assert json_body["ok"] is query_body["ok"] is True
    assert [message.text for message in bot_api.messages(ALICE.id)] == ["from curl", "query"]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"chat_id": 4242, "text": "hi"}, "Bad Request: chat not found"),
        ({"chat_id": ALICE.id, "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": ALICE.id, "text": "  "}, "Bad Request: message text is empty"),
        (
            {"chat_id": ALICE.id, "text": "Backup 1.2 done", "parse_mode": "MarkdownV2"},
            RESERVED_DOT,
        ),
        (
            {"chat_id": ALICE.id, "text": "*bold", "parse_mode": "MarkdownV2"},
            "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
        ),
        (
            {"chat_id": ALICE.id, "text": "vm_101 is down", "parse_mode": "Markdown"},
            (
                "Bad Request: can't parse entities: Can't find end of the entity starting at "
                "byte offset 2"
            ),
        ),
        (
            {"chat_id": ALICE.id, "text": "line<br>break", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 4',
        ),
        (
            {"chat_id": ALICE.id, "text": "<b>open", "parse_mode": "html"},
            (
                "Bad Request: can't parse entities: Can't find end tag corresponding to start "
                'tag "b"'
            ),
        ),
        (
            {"chat_id": ALICE.id, "text": "hi", "reply_markup": keyboard([("Go", "x" * 65)])},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {
                "chat_id": ALICE.id,
                "text": "hi",
                "reply_markup": {"inline_keyboard": [[{"text": "Docs", "url": "ftp://x"}]]},
            },
            "Bad Request: BUTTON_URL_INVALID",
        ),
        (
            {"chat_id": ALICE.id, "text": "hi", "reply_to_message_id": 99},
            "Bad Request: message to be replied not found",
        ),
    ],
)
async def test_send_message_is_refused_like_telegram(
    http: aiohttp.ClientSession,
    bot_api: TelegramBotApi,
    params: dict[str, Any],
    description: str,
) -> None:
    status, body = await call(http, bot_api, "sendMessage", **params)

    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": description}
    assert bot_api.sent == []
    assert bot_api.calls[-1].description == description


@pytest.mark.parametrize(
    ("text", "parse_mode", "plain"),
    [
        ("Backup 1\\.2 done \\(ok\\)", "MarkdownV2", "Backup 1.2 done (ok)"),
        ("_vm_ *101* [log](https://example.org/a\\)b)", "MarkdownV2", "vm 101 log"),
        ("```python\nprint(1)```", "MarkdownV2", "print(1)"),
        ("vm\\_101 *down*", "Markdown", "vm_101 down"),
        ("<b>VM</b> &lt;101&gt; <a href='https://x.org'>log</a>", "HTML", "VM <101> log"),
        ("a_b. *c*", None, "a_b. *c*"),
    ],
)
async def test_well_formed_markup_is_accepted_and_rendered_as_plain_text(
    http: aiohttp.ClientSession,
    bot_api: TelegramBotApi,
    text: str,
    parse_mode: str | None,
    plain: str,
) -> None:
    params = {"parse_mode": parse_mode} if parse_mode else {}
    status, body = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text=text, **params)

    assert status == 200, body
    assert body["result"]["text"] == plain


async def test_entity_offsets_count_utf16_code_units(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, body = await call(
        http,
        bot_api,
        "sendMessage",
        chat_id=ALICE.id,
        text="🖥 *VM 101* down",
        parse_mode="MarkdownV2",
    )

    assert body["result"]["text"] == "🖥 VM 101 down"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 3, "length": 6}]


@given(text=st.text(max_size=60))
def test_escaped_text_parses_back_to_itself(text: str) -> None:
    """What Telegram's escaping rules (as python-telegram-bot applies them) protect survives."""
    assert parse(escape_markdown(text, version=2), "MarkdownV2").text == text
    assert parse(escape_markdown(text, version=1), "Markdown").text == text
    assert parse(html.escape(text), "HTML").text == text


async def test_a_user_command_carries_a_bot_command_entity(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    sent = bot_api.send_text(ALICE, ALICE.id, "/stop_vm@homelab_agents_bot 101")

    _, body = await call(http, bot_api, "getUpdates")

    [update] = body["result"]
    assert update["update_id"] == sent.update_id
    message = update["message"]
    assert message["message_id"] == sent.message_id
    assert message["from"] == {
        "id": ALICE.id,
        "is_bot": False,
        "first_name": "Alice",
        "last_name": "Admin",
        "username": "alice",
        "language_code": "en",
    }
    assert message["chat"]["id"] == ALICE.id
    assert message["chat"]["type"] == "private"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 27}]


async def test_updates_stay_until_an_offset_confirms_them(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    first = bot_api.send_text(ALICE, ALICE.id, "one")
    second = bot_api.send_text(ALICE, ALICE.id, "two")

    _, again = await call(http, bot_api, "getUpdates")
    _, again_too = await call(http, bot_api, "getUpdates", limit=1)
    _, after_first = await call(http, bot_api, "getUpdates", offset=first.update_id + 1)
    _, after_both = await call(http, bot_api, "getUpdates", offset=second.update_id + 1)

    assert [update["message"]["text"] for update in again["result"]] == ["one", "two"]
    assert [update["message"]["text"] for update in again_too["result"]] == ["one"]
    assert [update["message"]["text"] for update in after_first["result"]] == ["two"]
    assert after_both["result"] == []
    assert bot_api.pending_updates == 0


async def test_a_long_poll_wakes_as_soon_as_a_user_writes(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(call(http, bot_api, "getUpdates", timeout=30))
    await bot_api.wait_for_polling()
    bot_api.send_text(ALICE, ALICE.id, "wake up")

    _, body = await poll

    assert [update["message"]["text"] for update in body["result"]] == ["wake up"]
    assert time.monotonic() - started < 5


async def test_a_long_poll_without_updates_answers_empty_after_its_timeout(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    started = time.monotonic()
    _, body = await call(http, bot_api, "getUpdates", timeout=0.3)

    assert body == {"ok": True, "result": []}
    assert 0.25 < time.monotonic() - started < 3


async def test_a_second_poller_ends_the_first_with_a_conflict(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    first = asyncio.create_task(call(http, bot_api, "getUpdates", timeout=30))
    await bot_api.wait_for_polling()

    _, second = await call(http, bot_api, "getUpdates", timeout=0)
    status, conflict = await first

    assert second == {"ok": True, "result": []}
    assert status == 409
    assert conflict["description"].startswith("Conflict: terminated by other getUpdates request")


async def test_stop_releases_a_held_long_poll_at_once() -> None:
    bot_api = TelegramBotApi()
    await bot_api.start()
    async with aiohttp.ClientSession() as session:
        poll = asyncio.create_task(call(session, bot_api, "getUpdates", timeout=30))
        await bot_api.wait_for_polling()
        started = time.monotonic()

        await bot_api.stop()
        status, body = await poll

    assert (status, body) == (200, {"ok": True, "result": []})
    assert time.monotonic() - started < 2
    assert not bot_api.polling


async def test_allowed_updates_filter_what_is_stored(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    await call(http, bot_api, "getUpdates", allowed_updates=["callback_query"])
    bot_api.send_text(ALICE, ALICE.id, "not wanted")

    _, body = await call(http, bot_api, "getUpdates")

    assert body["result"] == []


async def test_raw_updates_can_be_injected(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    edited: JsonObject = {"message_id": 5, "date": 0, "chat": {"id": ALICE.id, "type": "private"}}
    update_id = bot_api.inject_update("edited_message", edited)

    _, body = await call(http, bot_api, "getUpdates")

    assert body["result"] == [{"update_id": update_id, "edited_message": edited}]


async def test_a_webhook_blocks_get_updates_until_deleted(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    await call(http, bot_api, "setWebhook", url="https://ha.example/api/telegram_webhooks")
    blocked, conflict = await call(http, bot_api, "getUpdates")
    await call(http, bot_api, "deleteWebhook")
    allowed, _ = await call(http, bot_api, "getUpdates")

    assert blocked == 409
    assert "webhook is active" in conflict["description"]
    assert allowed == 200


async def test_a_button_press_reaches_the_bot_and_is_answered_once(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, sent = await call(
        http,
        bot_api,
        "sendMessage",
        chat_id=ALICE.id,
        text="VM 101 is down",
        reply_markup=keyboard([("Start", "/start_vm 101")]),
    )
    message_id = sent["result"]["message_id"]
    press = bot_api.press_button(ALICE, ALICE.id, message_id, "/start_vm 101")

    _, updates = await call(http, bot_api, "getUpdates")
    answered, _ = await call(
        http, bot_api, "answerCallbackQuery", callback_query_id=press.id, text="Starting"
    )
    twice, again = await call(http, bot_api, "answerCallbackQuery", callback_query_id=press.id)

    query = updates["result"][0]["callback_query"]
    assert query["id"] == press.id
    assert query["data"] == "/start_vm 101"
    assert query["from"]["id"] == ALICE.id
    assert query["message"]["message_id"] == message_id
    assert query["message"]["from"]["id"] == bot_api.bot.id
    assert query["chat_instance"]
    assert answered == 200
    assert bot_api.callback_answers[0].text == "Starting"
    assert twice == 400
    assert again["description"].startswith("Bad Request: query is too old")


async def test_only_existing_buttons_can_be_pressed(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, sent = await call(
        http, bot_api, "sendMessage", chat_id=ALICE.id, text="hi", reply_markup=keyboard()
    )

    with pytest.raises(ValueError, match="no button"):
        bot_api.press_button(ALICE, ALICE.id, sent["result"]["message_id"], "/nope")
    with pytest.raises(ValueError, match="no message 77"):
        bot_api.press_button(ALICE, ALICE.id, 77, "/nope")


async def test_edits_replace_text_and_keyboard_and_refuse_what_telegram_refuses(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, sent = await call(
        http,
        bot_api,
        "sendMessage",
        chat_id=ALICE.id,
        text="VM 101 is down",
        reply_markup=keyboard([("Start", "/start_vm 101")]),
    )
    message_id = sent["result"]["message_id"]
    user_message = bot_api.send_text(ALICE, ALICE.id, "ok")

    edited, _ = await call(
        http, bot_api, "editMessageText", chat_id=ALICE.id, message_id=message_id, text="Starting"
    )
    unchanged, same = await call(
        http, bot_api, "editMessageText", chat_id=ALICE.id, message_id=message_id, text="Starting"
    )
    missing, not_found = await call(
        http, bot_api, "editMessageText", chat_id=ALICE.id, message_id=999, text="x"
    )
    theirs, not_ours = await call(
        http,
        bot_api,
        "editMessageText",
        chat_id=ALICE.id,
        message_id=user_message.message_id,
        text="x",
    )
    regained, _ = await call(
        http,
        bot_api,
        "editMessageReplyMarkup",
        chat_id=ALICE.id,
        message_id=message_id,
        reply_markup=keyboard([("Stop", "/stop_vm 101")]),
    )

    current = bot_api.message(ALICE.id, message_id)
    assert (edited, regained) == (200, 200)
    assert current is not None
    assert current.text == "Starting"
    # Editing the text without reply_markup removes the keyboard, as on Telegram.
    assert bot_api.edits[0].message.inline_keyboard == ()
    assert current.callback_data == ["/stop_vm 101"]
    assert current.edit_date is not None
    assert bot_api.sent[0].text == "VM 101 is down"
    assert unchanged == missing == theirs == 400
    assert same["description"].startswith("Bad Request: message is not modified")
    assert not_found["description"] == "Bad Request: message to edit not found"
    assert not_ours["description"] == "Bad Request: message can't be edited"


async def test_delete_chat_action_commands_and_chat_info(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, sent = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="bye")
    message_id = sent["result"]["message_id"]

    deleted, _ = await call(http, bot_api, "deleteMessage", chat_id=ALICE.id, message_id=message_id)
    again, gone = await call(
        http, bot_api, "deleteMessage", chat_id=ALICE.id, message_id=message_id
    )
    typing, _ = await call(http, bot_api, "sendChatAction", chat_id=ALICE.id, action="typing")
    bad_action, _ = await call(http, bot_api, "sendChatAction", chat_id=ALICE.id, action="dance")
    await call(
        http,
        bot_api,
        "setMyCommands",
        commands=[{"command": "status", "description": "Homelab status"}],
    )
    bad_command, invalid = await call(
        http, bot_api, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}]
    )
    _, chat = await call(http, bot_api, "getChat", chat_id=ALICE.id)

    assert (deleted, typing) == (200, 200)
    assert bot_api.messages(ALICE.id) == []
    assert bot_api.deleted[0].message_id == message_id
    assert (again, bad_action, bad_command) == (400, 400, 400)
    assert gone["description"] == "Bad Request: message to delete not found"
    assert invalid["description"] == "Bad Request: BOT_COMMAND_INVALID"
    assert bot_api.chat_actions[0].action == "typing"
    assert bot_api.commands() == [{"command": "status", "description": "Homelab status"}]
    assert chat["result"]["first_name"] == "Alice"
    assert chat["result"]["type"] == "private"


async def test_groups_menus_reactions_and_webhook_info(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    group = bot_api.add_chat(-1001234567890, title="Homelab")
    _, sent = await call(http, bot_api, "sendMessage", chat_id=group.id, text="nightly backup ok")
    reacted, _ = await call(
        http,
        bot_api,
        "setMessageReaction",
        chat_id=group.id,
        message_id=sent["result"]["message_id"],
        reaction=[{"type": "emoji", "emoji": "👍"}],
    )
    scope = {"type": "all_private_chats"}
    await call(
        http,
        bot_api,
        "setMyCommands",
        commands=[{"command": "status", "description": "Status"}],
        scope=scope,
    )
    _, private_menu = await call(http, bot_api, "getMyCommands", scope=scope)
    _, default_menu = await call(http, bot_api, "getMyCommands")
    await call(http, bot_api, "deleteMyCommands", scope=scope)
    bot_api.send_text(ALICE, ALICE.id, "waiting")
    _, webhook = await call(http, bot_api, "getWebhookInfo")
    left, _ = await call(http, bot_api, "leaveChat", chat_id=group.id)
    after_leaving, gone = await call(http, bot_api, "sendMessage", chat_id=group.id, text="hi")
    private, cannot = await call(http, bot_api, "leaveChat", chat_id=ALICE.id)

    assert sent["result"]["chat"] == {"id": group.id, "type": "supergroup", "title": "Homelab"}
    assert reacted == 200
    assert bot_api.reactions[0].reaction == ({"type": "emoji", "emoji": "👍"},)
    assert private_menu["result"] == [{"command": "status", "description": "Status"}]
    assert default_menu["result"] == []
    assert bot_api.commands("all_private_chats") == []
    assert webhook["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 1,
    }
    assert left == 200
    assert (after_leaving, gone["description"]) == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )
    assert (private, cannot["description"]) == (
        400,
        "Bad Request: chat member status can't be changed in private chats",
    )


async def test_a_blocked_user_answers_forbidden(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    bot_api.set_blocked(ALICE.id)

    status, body = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="hi")

    assert status == 403
    assert body["description"] == "Forbidden: bot was blocked by the user"


async def test_rate_limit_answers_429_with_retry_after(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    bot_api.rate_limit = True

    first, _ = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="1")
    second, flood = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="2")
    other_chat, _ = await call(http, bot_api, "sendMessage", chat_id=MALLORY.id, text="3")

    assert (first, second, other_chat) == (200, 429, 200)
    assert flood == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    assert [message.text for message in bot_api.sent] == ["1", "3"]


async def test_injected_faults_answer_the_next_calls(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    bot_api.faults.inject("send*", error_code=502, description="Bad Gateway")

    failed, body = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="1")
    passed, _ = await call(http, bot_api, "sendMessage", chat_id=ALICE.id, text="2")

    assert (failed, passed) == (502, 200)
    assert body["description"] == "Bad Gateway"


async def test_unknown_methods_and_paths_are_not_found(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    method, body = await call(http, bot_api, "sendPhoto", chat_id=ALICE.id)
    async with http.get(f"{bot_api.url}/file/bot{bot_api.token}/photos/1.jpg") as response:
        file_status = response.status

    assert method == file_status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_the_control_api_drives_users_from_outside(
    http: aiohttp.ClientSession, bot_api: TelegramBotApi
) -> None:
    _, sent = await call(
        http,
        bot_api,
        "sendMessage",
        chat_id=ALICE.id,
        text="VM 101 is down",
        reply_markup=keyboard([("Start", "/start_vm 101")]),
    )
    control = f"{bot_api.url}/simulator"
    async with http.post(f"{control}/chats", json={"chat_id": -100, "title": "Homelab"}) as reply:
        group = await reply.json()
    async with http.post(
        f"{control}/messages", json={"chat_id": ALICE.id, "text": "/status"}
    ) as reply:
        written = await reply.json()
    async with http.post(
        f"{control}/button_presses",
        json={
            "chat_id": ALICE.id,
            "message_id": sent["result"]["message_id"],
            "callback_data": "/start_vm 101",
        },
    ) as reply:
        pressed = await reply.json()
    async with http.post(f"{control}/messages", json={"chat_id": -100, "text": "hi"}) as reply:
        refused = (reply.status, await reply.json())
    async with http.get(f"{control}/messages", params={"chat_id": ALICE.id}) as reply:
        listed = await reply.json()
    _, updates = await call(http, bot_api, "getUpdates")

    assert group == {"id": -100, "type": "group", "title": "Homelab"}
    assert [update["update_id"] for update in updates["result"]] == [
        written["update_id"],
        pressed["update_id"],
    ]
    assert updates["result"][0]["message"]["from"]["first_name"] == "Alice"
    assert pressed["callback_query_id"] == updates["result"][1]["callback_query"]["id"]
    assert refused == (400, {"error": '"from" is required outside private chats'})
    assert [message["text"] for message in listed] == ["VM 101 is down"]


def test_stand_alone_prints_how_to_connect_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.telegram", "--port", "0", "--chat", "2002:Bob"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = list(iter(process.stdout.readline, "Ctrl-C stops it.\n"))
        printed = dict(line.strip().split(": ", 1) for line in banner if line.startswith("  "))
        url = printed["api_endpoint"]
        chat_url = f"{url}/bot{printed['token']}/getChat?chat_id=2002"
        with urlopen(chat_url, timeout=5) as response:  # noqa: S310 - the simulator's http URL
            chat = json.load(response)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)

    assert banner[0] == f"Telegram Bot API simulator at {url}\n"
    assert printed["token"] == DEFAULT_TOKEN
    assert printed["chats"] == "2002 (Bob)"
    assert chat["result"]["first_name"] == "Bob"
    assert process.returncode == 0


# Home Assistant's real telegram_bot against the stand-in


@pytest.fixture
async def telegram_entry(
    hass: HomeAssistant, bot_api: TelegramBotApi
) -> AsyncGenerator[ConfigEntry]:
    """HA's telegram_bot set up through its config flow, polling the stand-in, Alice allowed."""
    flow = await hass.config_entries.flow.async_init(TELEGRAM, context={"source": SOURCE_USER})
    created = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {
            CONF_PLATFORM: "polling",
            CONF_API_KEY: bot_api.token,
            "additional_settings": {"api_endpoint": bot_api.url},
        },
    )
    assert created["type"] is FlowResultType.CREATE_ENTRY
    entry: ConfigEntry = created["result"]
    await hass.async_block_till_done()
    subflow = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "allowed_chat_ids"), context={"source": SOURCE_USER}
    )
    allowed = await hass.config_entries.subentries.async_configure(
        subflow["flow_id"], {"chat_id": ALICE.id}
    )
    assert allowed["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    await bot_api.wait_for_polling()
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def expect_event(hass: HomeAssistant, event_type: str) -> asyncio.Future[Event]:
    """The next event of a type, listened for from now on.

    python-telegram-bot handles updates in its own task, which `async_block_till_done` does not
    wait for, so tests wait for the event itself.
    """
    arrived: asyncio.Future[Event] = hass.loop.create_future()

    @callback
    def capture(event: Event) -> None:
        if not arrived.done():
            arrived.set_result(event)

    unsubscribe = hass.bus.async_listen(event_type, capture)
    arrived.add_done_callback(lambda _: unsubscribe())
    return arrived


async def arrival(expected: asyncio.Future[Event]) -> Event:
    """Wait a bounded time for an expected event."""
    return await asyncio.wait_for(expected, 5)


async def test_config_flow_points_telegram_bot_at_the_stand_in(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    assert telegram_entry.state is ConfigEntryState.LOADED
    assert telegram_entry.title == "Homelab Agents"
    assert telegram_entry.data == {
        CONF_PLATFORM: "polling",
        "api_endpoint": bot_api.url,
        CONF_API_KEY: bot_api.token,
        "proxy_url": None,
    }
    assert [subentry.data for subentry in telegram_entry.subentries.values()] == [
        {"chat_id": ALICE.id}
    ]
    assert bot_api.polling
    written = bot_api.send_text(ALICE, ALICE.id, "hello")
    await bot_api.wait_for_delivery(written.update_id)
    poll = bot_api.calls_to("getUpdates")[0]
    # HA asks for what it turns into events; Telegram remembers this per bot.
    assert json.loads(str(poll.params["allowed_updates"])) == [
        "callback_query",
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_message",
        "edited_business_message",
    ]
    assert poll.params["timeout"] == "10"
    assert {"getMe", "deleteWebhook", "getChat"} <= {call.method for call in bot_api.calls}


async def test_config_flow_with_a_wrong_token_reports_an_invalid_api_key(
    hass: HomeAssistant, bot_api: TelegramBotApi
) -> None:
    flow = await hass.config_entries.flow.async_init(TELEGRAM, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {
            CONF_PLATFORM: "polling",
            CONF_API_KEY: "123456:WRONG-TOKEN",
            "additional_settings": {"api_endpoint": bot_api.url},
        },
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_api_key"}


async def test_allowing_a_chat_unknown_to_telegram_reports_chat_not_found(
    hass: HomeAssistant, telegram_entry: ConfigEntry
) -> None:
    subflow = await hass.config_entries.subentries.async_init(
        (telegram_entry.entry_id, "allowed_chat_ids"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        subflow["flow_id"], {"chat_id": 4242}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "chat_not_found"}


async def test_send_message_with_inline_keyboard_reaches_the_chat(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    response = await hass.services.async_call(
        TELEGRAM,
        "send_message",
        {
            "chat_id": ALICE.id,
            "title": "*Proxmox*",
            "message": "VM 101 \\(nextcloud\\) stopped",
            "parse_mode": "markdownv2",
            "inline_keyboard": [
                "Start:/start_vm 101,Ignore:/ignore",
                [["Runbook", "https://wiki.example/vm-101"]],
            ],
        },
        blocking=True,
        return_response=True,
    )

    sent = bot_api.last_message(ALICE.id)
    assert sent is not None
    assert response == {
        "chats": [
            {"chat_id": ALICE.id, "message_id": sent.message_id, "entity_id": "notify.alice_admin"}
        ]
    }
    assert sent.text == "*Proxmox*\nVM 101 \\(nextcloud\\) stopped"
    assert sent.plain_text == "Proxmox\nVM 101 (nextcloud) stopped"
    assert sent.parse_mode == "markdownv2"
    assert [
        [(button.text, button.callback_data, button.url) for button in row]
        for row in sent.inline_keyboard
    ] == [
        [("Start", "/start_vm 101", None), ("Ignore", "/ignore", None)],
        [("Runbook", None, "https://wiki.example/vm-101")],
    ]


async def test_a_command_fires_telegram_command_with_args_and_ids(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    fired = expect_event(hass, "telegram_command")
    written = bot_api.send_text(ALICE, ALICE.id, "/stop_vm 101 now")

    event = await arrival(fired)

    assert event.data["command"] == "/stop_vm"
    assert event.data["args"] == ["101", "now"]
    assert event.data["chat_id"] == ALICE.id
    assert event.data["user_id"] == ALICE.id
    assert event.data["from_first"] == "Alice"
    assert event.data["from_last"] == "Admin"
    assert event.data["id"] == written.message_id
    assert event.data["bot"]["id"] == bot_api.bot.id
    assert event.data["bot"]["username"] == "homelab_agents_bot"
    assert event.data["bot"]["config_entry_id"] == telegram_entry.entry_id
    await bot_api.wait_for_delivery(written.update_id)


async def test_plain_text_fires_telegram_text(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    fired = expect_event(hass, "telegram_text")
    bot_api.send_text(ALICE, ALICE.id, "how is the homelab?")

    event = await arrival(fired)

    assert event.data["text"] == "how is the homelab?"
    assert event.data["chat_id"] == ALICE.id


async def test_a_button_press_fires_telegram_callback_and_is_answered_and_edited(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    await hass.services.async_call(
        TELEGRAM,
        "send_message",
        {
            "chat_id": ALICE.id,
            "message": "VM 101 is down",
            "inline_keyboard": ["Start:/start_vm 101"],
        },
        blocking=True,
    )
    message_id = (await bot_api.wait_for_message(chat_id=ALICE.id)).message_id
    fired = expect_event(hass, "telegram_callback")
    press = bot_api.press_button(ALICE, ALICE.id, message_id, "/start_vm 101")

    event = await arrival(fired)
    await hass.services.async_call(
        TELEGRAM,
        "answer_callback_query",
        {"callback_query_id": event.data["id"], "message": "Starting VM 101"},
        blocking=True,
    )
    await hass.services.async_call(
        TELEGRAM,
        "edit_message",
        {
            "chat_id": event.data["chat_id"],
            "message_id": event.data["message"]["message_id"],
            "message": "VM 101 is starting",
            "inline_keyboard": ["Stop:/stop_vm 101"],
        },
        blocking=True,
    )

    assert event.data["id"] == press.id
    assert event.data["data"] == "/start_vm 101"
    assert event.data["command"] == "/start_vm"
    assert event.data["args"] == ["101"]
    assert event.data["chat_id"] == ALICE.id
    assert event.data["user_id"] == ALICE.id
    assert event.data["chat_instance"]
    assert event.data["message"]["text"] == "VM 101 is down"
    answer = await bot_api.wait_for_callback_answer(press.id)
    assert bot_api.callback_answers == [answer]
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (
        press.id,
        "Starting VM 101",
        False,
    )
    edit = await bot_api.wait_for_edit(lambda edit: edit.message.message_id == message_id)
    assert bot_api.edits == [edit]
    assert edit.method == "editMessageText"
    assert edit.message.message_id == message_id
    assert edit.message.text == "VM 101 is starting"
    assert edit.message.callback_data == ["/stop_vm 101"]


async def test_a_chat_that_is_not_allowed_fires_no_event(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    telegram_entry: ConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    command = expect_event(hass, "telegram_command")
    fired = expect_event(hass, "telegram_text")
    bot_api.send_text(MALLORY, MALLORY.id, "/stop_vm 101")
    bot_api.send_text(ALICE, ALICE.id, "after mallory")

    # python-telegram-bot handles updates one by one, so Mallory's was handled before this.
    await arrival(fired)

    assert not command.done()
    command.cancel()
    assert "Unauthorized update - neither user id 6666 nor chat id 6666" in caplog.text


async def test_telegram_refusals_surface_as_service_errors(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    async def send(**data: Any) -> str:
        with pytest.raises(HomeAssistantError) as raised:
            await hass.services.async_call(
                TELEGRAM, "send_message", {"chat_id": ALICE.id, **data}, blocking=True
            )
        return str(raised.value)

    too_long = await send(message="x" * 5000)
    reserved = await send(message="Backup 1.2 done", parse_mode="markdownv2")
    lone_underscore = await send(message="vm_101 is down")  # HA's default parse mode: Markdown
    long_data = await send(message="hi", inline_keyboard=[[["Go", "/go " + "x" * 64]]])
    with pytest.raises(HomeAssistantError) as missing:
        await hass.services.async_call(
            TELEGRAM,
            "edit_message",
            {"chat_id": ALICE.id, "message_id": 999, "message": "x"},
            blocking=True,
        )

    assert too_long == "Action failed. Message is too long"
    assert reserved.startswith("Action failed. Can't parse entities: character '.' is reserved")
    assert lone_underscore == (
        "Action failed. Can't parse entities: can't find end of the entity starting at byte "
        "offset 2"
    )
    assert long_data == "Action failed. Button_data_invalid"
    assert str(missing.value) == "Action failed. Message to edit not found"
    assert bot_api.sent == []


async def test_flood_control_surfaces_as_a_retry_after_error(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    bot_api.rate_limit = True
    send = {"chat_id": ALICE.id, "message": "storm"}

    await hass.services.async_call(TELEGRAM, "send_message", send, blocking=True)
    with pytest.raises(HomeAssistantError, match=r"Flood control exceeded\. Retry in 1 second"):
        await hass.services.async_call(TELEGRAM, "send_message", send, blocking=True)

    assert len(bot_api.sent) == 1
    assert bot_api.calls_to("sendMessage")[-1].error_code == 429


async def test_unloading_stops_polling_and_confirms_fetched_updates(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram_entry: ConfigEntry
) -> None:
    fired = expect_event(hass, "telegram_text")
    written = bot_api.send_text(ALICE, ALICE.id, "last words")
    await arrival(fired)

    assert await hass.config_entries.async_unload(telegram_entry.entry_id)
    await hass.async_block_till_done()

    assert telegram_entry.state is ConfigEntryState.NOT_LOADED
    # python-telegram-bot's parting getUpdates (timeout 0) confirms what it fetched.
    last_poll = bot_api.calls_to("getUpdates")[-1]
    assert last_poll.params["timeout"] == "0"
    assert int(str(last_poll.params["offset"])) == written.update_id + 1
    assert bot_api.pending_updates == 0
    assert not bot_api.polling
