"""`/containers` and `/restart_container` end to end.

HA's telegram_bot against the Bot API stand-in, the chat-commands blueprint, a real Podman engine.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.telegram import TelegramBotApi

from ..docker import conftest as docker_fixtures
from ..docker.helpers import setup_entry
from ..docker.podman import Engine
from . import test_telegram
from .test_telegram import ALICE, MALLORY

# The engine and the Telegram stand-in, as their own tests use them.
allow_unix_sockets = docker_fixtures.allow_unix_sockets
podman = docker_fixtures.podman
engine_id = docker_fixtures.engine_id
engine = docker_fixtures.engine
docker_options = docker_fixtures.docker_options
docker_entry = docker_fixtures.docker_entry
bot_api = test_telegram.bot_api
telegram = test_telegram.telegram
DASH = "\N{EN DASH}"

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:'asyncio.iscoroutinefunction' is deprecated:DeprecationWarning:telegram"
    ),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]


@pytest.fixture
async def chat_commands(
    hass: HomeAssistant, engine: Engine, docker_entry: MockConfigEntry, telegram: ConfigEntry
) -> Engine:
    """Two containers (one exited with code 2), the Docker entry and the commands blueprint."""
    await engine.create("web")
    await engine.create("backup-job", ["sh", "-c", "exit 2"])
    await engine.wait_exited("backup-job")
    await setup_entry(hass, docker_entry)
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
    return engine


async def test_containers_lists_state_and_exit_code(
    hass: HomeAssistant, bot_api: TelegramBotApi, chat_commands: Engine
) -> None:
    """`/containers` answers with every container, its state and exit code."""
    bot_api.send_text(ALICE, ALICE.id, "/containers")
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert reply.text == (
        "2 containers:\n"
        f"• backup-job {DASH} exited (exit 2) on Docker podman-host\n"
        f"• web {DASH} running on Docker podman-host"
    )


async def test_restart_container_restarts_it(
    hass: HomeAssistant, bot_api: TelegramBotApi, chat_commands: Engine
) -> None:
    """`/restart_container web` restarts it on the engine; bad names and no name get help."""
    before = (await chat_commands.state("web"))["StartedAt"]
    bot_api.send_text(ALICE, ALICE.id, "/restart_container web")
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert reply.text == "Restarted web: running."
    assert (await chat_commands.state("web"))["StartedAt"] != before

    bot_api.send_text(ALICE, ALICE.id, "/restart_container nothing")
    reply = await bot_api.wait_for_message(lambda m: "nothing" in m.text, chat_id=ALICE.id)
    assert reply.text.startswith("Could not restart container nothing")
    bot_api.send_text(ALICE, ALICE.id, "/restart_container")
    reply = await bot_api.wait_for_message(lambda m: "Usage" in m.text, chat_id=ALICE.id)
    assert reply.text == "Usage: /restart_container <name> (see /containers)"


async def test_strangers_cannot_restart_containers(
    hass: HomeAssistant, bot_api: TelegramBotApi, chat_commands: Engine
) -> None:
    """Mallory's command restarts nothing and gets no answer."""
    before = (await chat_commands.state("web"))["StartedAt"]
    bot_api.send_text(MALLORY, MALLORY.id, "/restart_container web")
    bot_api.send_text(ALICE, ALICE.id, "/help")
    reply = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert f"/restart_container <name> {DASH} restart a container" in reply.text
    assert bot_api.messages(MALLORY.id) == []
    assert (await chat_commands.state("web"))["StartedAt"] == before
