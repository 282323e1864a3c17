"""The Telegram blueprints end to end: HA's real telegram_bot against the Bot API stand-in.

Alerts arrive through the real webhook, guests live in the PVE simulator, and the four
blueprints run in HA's automation engine.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_PLATFORM
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from simulators.pve import PveSimulator
from simulators.telegram import TelegramBotApi, TelegramUser

from ..alertmanager.payloads import alert, payload
from ..conftest import WebhookPoster

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:'asyncio.iscoroutinefunction' is deprecated:DeprecationWarning:telegram"
    ),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]

ALICE = TelegramUser(id=1001, first_name="Alice")
MALLORY = TelegramUser(id=6666, first_name="Mallory")
GROUP = -100200


@pytest.fixture
async def bot_api() -> AsyncGenerator[TelegramBotApi]:
    """Telegram: Alice's private chat and a group both of them are in."""
    async with TelegramBotApi() as api:
        api.add_chat(ALICE.id, user=ALICE)
        api.add_chat(MALLORY.id, user=MALLORY)
        api.add_chat(GROUP, title="Homelab")
        yield api


@pytest.fixture
async def telegram(hass: HomeAssistant, bot_api: TelegramBotApi) -> AsyncGenerator[ConfigEntry]:
    """HA's telegram_bot polling the stand-in; Alice's chat and the group are allowed."""
    flow = await hass.config_entries.flow.async_init(
        "telegram_bot", context={"source": SOURCE_USER}
    )
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
    for chat_id in (ALICE.id, GROUP):
        subflow = await hass.config_entries.subentries.async_init(
            (entry.entry_id, "allowed_chat_ids"), context={"source": SOURCE_USER}
        )
        await hass.config_entries.subentries.async_configure(
            subflow["flow_id"], {"chat_id": chat_id}
        )
    await hass.async_block_till_done()
    await bot_api.wait_for_polling()
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def blueprints(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    setup_proxmox: MockConfigEntry,
    telegram: ConfigEntry,
) -> MockConfigEntry:
    """The four Telegram blueprints as automations: alerts to the group, Alice allowed."""
    allowed = [str(ALICE.id)]
    assert await async_setup_component(hass, "system_log", {})
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "use_blueprint": {
                        "path": "homelab_agents/telegram_alert_notifications.yaml",
                        "input": {"chat_ids": [str(GROUP)]},
                    }
                },
                {
                    "use_blueprint": {
                        "path": "homelab_agents/telegram_buttons.yaml",
                        "input": {"allowed_users": allowed},
                    }
                },
                {"use_blueprint": {"path": "homelab_agents/telegram_confirmations.yaml"}},
                {
                    "use_blueprint": {
                        "path": "homelab_agents/telegram_chat_commands.yaml",
                        "input": {"allowed_users": allowed},
                    }
                },
            ]
        },
    )
    await hass.async_block_till_done()
    return init_integration


async def _notify(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1.5))
    await hass.async_block_till_done()


async def test_alert_buttons_acknowledge_and_refuse_strangers(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    blueprints: MockConfigEntry,
    post_webhook: WebhookPoster,
) -> None:
    """A firing alert becomes a message with buttons; Alice acknowledges; Mallory cannot."""
    await post_webhook(payload(alert(labels={"vmid": "101"})))
    await _notify(hass)
    message = await bot_api.wait_for_message(chat_id=GROUP)
    assert message.parse_mode.lower() == "html"
    assert "HostDown" in message.plain_text
    assert message.callback_data == [
        "/hla_ack a1b2c3d4e5f60718",
        "/hla_silence a1b2c3d4e5f60718 1h",
        "/hla_silence a1b2c3d4e5f60718 24h",
        "/hla_restart 101",
    ]

    bot_api.press_button(MALLORY, GROUP, message.message_id, "/hla_ack a1b2c3d4e5f60718")
    refused = await bot_api.wait_for_callback_answer()
    assert refused.text == "Not allowed."
    store = blueprints.runtime_data.store
    assert store.active["a1b2c3d4e5f60718"].acknowledged_by is None

    bot_api.press_button(ALICE, GROUP, message.message_id, "/hla_ack a1b2c3d4e5f60718")
    edit = await bot_api.wait_for_edit(lambda e: "Acknowledged by Alice" in e.message.text)
    assert edit.message.message_id == message.message_id
    assert store.active["a1b2c3d4e5f60718"].acknowledged_by == "telegram:1001"
    answers = [a.text for a in bot_api.callback_answers]
    assert "✔ Acknowledged by Alice" in answers


async def test_restart_button_goes_through_confirmation(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    blueprints: MockConfigEntry,
    pve: PveSimulator,
    post_webhook: WebhookPoster,
) -> None:
    """Restart guest asks Alice privately; her Confirm reboots the simulated guest."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    await post_webhook(payload(alert(labels={"vmid": str(guest.vmid)})))
    await _notify(hass)
    message = await bot_api.wait_for_message(chat_id=GROUP)
    bot_api.press_button(ALICE, GROUP, message.message_id, f"/hla_restart {guest.vmid}")
    request = await bot_api.wait_for_message(
        lambda m: m.text.startswith("⚠ Restart of"), chat_id=ALICE.id
    )
    confirm, cancel = request.callback_data
    assert confirm.startswith("/hla_confirm ")
    assert cancel.startswith("/hla_cancel ")
    reboots = sum(n for k, n in pve.requests.items() if k.endswith("/status/reboot"))
    assert reboots == 0
    bot_api.press_button(ALICE, ALICE.id, request.message_id, confirm)
    edit = await bot_api.wait_for_edit(lambda e: "Confirmed by Alice" in e.message.text)
    assert "ok (OK)" in edit.message.text
    assert sum(n for k, n in pve.requests.items() if k.endswith("/status/reboot")) == 1


async def test_stop_vm_command_with_confirmation(
    hass: HomeAssistant, bot_api: TelegramBotApi, blueprints: MockConfigEntry, pve: PveSimulator
) -> None:
    """`/stop_vm <vmid>` asks for confirmation; Confirm stops the guest and shows the result."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    bot_api.send_text(ALICE, ALICE.id, f"/stop_vm {guest.vmid}")
    request = await bot_api.wait_for_message(
        lambda m: m.text.startswith("⚠ Hard stop"), chat_id=ALICE.id
    )
    reply = await bot_api.wait_for_message(lambda m: "confirm with" in m.text, chat_id=ALICE.id)
    assert f"VM ID {guest.vmid}" in reply.text
    assert pve.cluster.guest(guest.vmid).status == "running"
    bot_api.press_button(ALICE, ALICE.id, request.message_id, request.callback_data[0])
    edit = await bot_api.wait_for_edit(lambda e: "Confirmed by Alice" in e.message.text)
    assert "ok" in edit.message.text
    assert pve.cluster.guest(guest.vmid).status == "stopped"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/alerts", "No alerts are firing."),
        ("/vms", "guests:"),
        ("/help", "Homelab commands:\n/alerts \N{EN DASH} firing alerts\n"),
        ("/frobnicate", "Unknown command /frobnicate."),
        ("/ack", "Usage: /ack <fingerprint>"),
        ("/ack ffffffffffffffff", "No firing alert has the fingerprint ffffffffffffffff."),
        ("/silence abc 2x", "Usage: /silence <fingerprint> [duration]"),
        ("/start_vm abc", "Usage: /start_vm <vmid>"),
        ("/confirm", "Nothing to confirm"),
        ("/report daily", "Daily summary"),
        ("/report", "Usage: /report daily|weekly|monthly"),
    ],
)
async def test_chat_commands_reply(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    blueprints: MockConfigEntry,
    text: str,
    expected: str,
) -> None:
    """Each command, and each bad one, gets a helpful reply."""
    bot_api.send_text(ALICE, ALICE.id, text)
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert expected in reply.text


async def test_alert_commands(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    blueprints: MockConfigEntry,
    post_webhook: WebhookPoster,
) -> None:
    """/alerts lists, /ack acknowledges, /silence refuses without Alertmanager reachable."""
    await post_webhook(payload(alert()))
    bot_api.send_text(ALICE, ALICE.id, "/alerts")
    listing = await bot_api.wait_for_message(lambda m: "firing:" in m.text, chat_id=ALICE.id)
    # One line per alert (a folded YAML block once put them all on one line).
    header, line = listing.text.split("\n")
    assert header == "1 firing:"
    assert line.startswith("• ")
    assert line.endswith("a1b2c3d4e5f60718")
    bot_api.send_text(ALICE, ALICE.id, "/ack a1b2c3d4e5f60718")
    await bot_api.wait_for_message(lambda m: m.text == "Acknowledged HostDown.", chat_id=ALICE.id)
    bot_api.send_text(ALICE, ALICE.id, "/silence a1b2c3d4e5f60718 2h")
    await bot_api.wait_for_message(lambda m: "Could not silence" in m.text, chat_id=ALICE.id)


async def test_strangers_commands_are_ignored(
    hass: HomeAssistant, bot_api: TelegramBotApi, blueprints: MockConfigEntry, pve: PveSimulator
) -> None:
    """X3: Mallory's command in the allowed group changes nothing and gets no answer."""
    guest = next(g for g in pve.cluster.guests.values() if g.status == "running")
    bot_api.send_text(MALLORY, GROUP, f"/stop_vm {guest.vmid}")
    bot_api.send_text(ALICE, GROUP, "/help")
    reply = await bot_api.wait_for_message(chat_id=GROUP)
    assert "Homelab commands:" in reply.text
    assert len(bot_api.messages(GROUP)) == 1
    assert bot_api.messages(MALLORY.id) == []


async def test_replayed_and_expired_confirmations_run_nothing(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    blueprints: MockConfigEntry,
    pve: PveSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """X3: a second press of Confirm, or a press after expiry, changes nothing."""
    running = [g for g in pve.cluster.guests.values() if g.status == "running"]
    bot_api.send_text(ALICE, ALICE.id, f"/stop_vm {running[0].vmid}")
    first = await bot_api.wait_for_message(lambda m: m.text.startswith("⚠"), chat_id=ALICE.id)
    bot_api.press_button(ALICE, ALICE.id, first.message_id, first.callback_data[0])
    await bot_api.wait_for_edit(lambda e: "Confirmed by Alice" in e.message.text)
    stops = sum(n for k, n in pve.requests.items() if k.endswith("/status/stop"))
    assert stops == 1

    bot_api.send_text(MALLORY, GROUP, "/vms")
    bot_api.send_text(ALICE, GROUP, "/help")
    await bot_api.wait_for_message(chat_id=GROUP)
    assert "Ignored homelab command /vms from Telegram user 6666" in caplog.text

    bot_api.send_text(ALICE, ALICE.id, f"/stop_vm {running[1].vmid}")
    second = await bot_api.wait_for_message(
        lambda m: m.text.startswith("⚠") and m.message_id != first.message_id, chat_id=ALICE.id
    )
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=6))
    await hass.async_block_till_done()
    bot_api.press_button(ALICE, ALICE.id, second.message_id, second.callback_data[0])
    await bot_api.wait_for_edit(lambda e: "Could not confirm" in e.message.text)
    stops = sum(n for k, n in pve.requests.items() if k.endswith("/status/stop"))
    assert stops == 1
    assert pve.cluster.guest(running[1].vmid).status == "running"
