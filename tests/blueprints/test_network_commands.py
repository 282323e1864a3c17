"""`/network` end to end.

HA's telegram_bot against the Bot API stand-in, the chat-commands blueprint, a Cloudflare entry
on its simulator and its anomaly monitor.
"""

from __future__ import annotations

from datetime import timedelta
import random

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.cloudflare import CloudflareSimulator
from simulators.telegram import TelegramBotApi

from ..network.cloudflare import conftest as cloudflare_fixtures
from ..network.conftest import polls, query_sample, seasonal
from . import test_telegram
from .test_telegram import ALICE

# The simulators, as their own tests use them.
cloudflare = cloudflare_fixtures.cloudflare
cloudflare_options = cloudflare_fixtures.cloudflare_options
cloudflare_entry = cloudflare_fixtures.cloudflare_entry
bot_api = test_telegram.bot_api
telegram = test_telegram.telegram
DASH = "\N{EN DASH}"

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:'asyncio.iscoroutinefunction' is deprecated:DeprecationWarning:telegram"
    ),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]


async def _commands(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "system_log", {})
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "use_blueprint": {
                        "path": "homelab_agents/telegram_chat_commands.yaml",
                        "input": {"allowed_users": [str(ALICE.id)]},
                    }
                }
            ]
        },
    )
    await hass.async_block_till_done()


async def test_network_lists_sources_and_their_anomalies(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,
    telegram: ConfigEntry,
    cloudflare: CloudflareSimulator,
    cloudflare_entry: MockConfigEntry,
) -> None:
    """Reachable with no anomaly, then the explanation of a flagged spike."""
    cloudflare_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(cloudflare_entry.entry_id)
    await _commands(hass)

    bot_api.send_text(ALICE, ALICE.id, "/network")
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert reply.text == f"0 network anomalies active:\n• Cloudflare Homelab {DASH} reachable"

    # Two days of a seasonal metric up to now, then a spike far outside it.
    monitor = cloudflare_entry.runtime_data.monitor
    rng = random.Random(5)
    start = dt_util.utcnow() - timedelta(hours=50)
    for moment in polls(start, timedelta(hours=50)):
        monitor.async_process([query_sample("probe", seasonal(rng, moment, 200))], [], moment)
    (raised,) = monitor.async_process([query_sample("probe", 5_000)], [], dt_util.utcnow())

    bot_api.send_text(ALICE, ALICE.id, "/network")
    reply = await bot_api.wait_for_message(lambda m: m.text.startswith("1 "), chat_id=ALICE.id)
    assert reply.text == (
        f"1 network anomalies active:\n• Cloudflare Homelab {DASH} reachable\n"
        f"  ⚠ {raised.explanation}"
    )


async def test_network_without_a_source(
    hass: HomeAssistant, bot_api: TelegramBotApi, telegram: ConfigEntry
) -> None:
    """No network entry: a clear answer, and /help lists the command."""
    assert await async_setup_component(hass, "homelab_agents", {})
    await _commands(hass)
    bot_api.send_text(ALICE, ALICE.id, "/network")
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert reply.text == "No network source is set up."
    bot_api.send_text(ALICE, ALICE.id, "/help")
    reply = await bot_api.wait_for_message(lambda m: "Homelab" in m.text, chat_id=ALICE.id)
    assert f"/network {DASH} network sources and their anomalies" in reply.text
