"""The report blueprint in HA's automation engine: time moved to 08:00, a Monday, the 1st."""

from __future__ import annotations

from datetime import datetime

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulators.telegram import TelegramBotApi

from .test_telegram import ALICE, GROUP, bot_api, telegram  # noqa: F401

pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:'asyncio.iscoroutinefunction' is deprecated:DeprecationWarning:telegram"
    ),
    pytest.mark.filterwarnings("ignore:Deprecated since version v22.2:DeprecationWarning"),
]


async def _at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


async def test_reports_arrive_on_their_day_and_time(
    hass: HomeAssistant,
    bot_api: TelegramBotApi,  # noqa: F811
    telegram: ConfigEntry,  # noqa: F811
    freezer: FrozenDateTimeFactory,
) -> None:
    """Daily every day at 08:00; weekly on Mondays; monthly on the 1st (the previous month)."""
    await hass.config.async_set_time_zone("UTC")
    assert await async_setup_component(hass, "homelab_agents", {})
    report = "homelab_agents/telegram_reports.yaml"
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {"use_blueprint": {"path": report, "input": {"chat_ids": [str(GROUP)]}}},
                {
                    "use_blueprint": {
                        "path": report,
                        "input": {
                            "chat_ids": [str(ALICE.id)],
                            "report_kind": "weekly",
                            "weekday": "0",
                        },
                    }
                },
                {
                    "use_blueprint": {
                        "path": report,
                        "input": {
                            "chat_ids": [str(ALICE.id)],
                            "report_kind": "monthly",
                            "day_of_month": 1,
                            "at_time": "09:00:00",
                            "price": 0.3,
                        },
                    }
                },
            ]
        },
    )
    await hass.async_block_till_done()

    # Sunday 08:00: only the daily summary.
    await _at(hass, freezer, datetime(2026, 11, 29, 8, 0, tzinfo=dt_util.UTC))
    daily = await bot_api.wait_for_message(chat_id=GROUP)
    assert daily.parse_mode.lower() == "html"
    assert "Daily summary" in daily.plain_text
    assert "2026-11-28 08:00 → 2026-11-29 08:00" in daily.plain_text
    assert bot_api.messages(ALICE.id) == []

    # Monday 08:00: the daily summary and the weekly trends.
    await _at(hass, freezer, datetime(2026, 11, 30, 8, 0, tzinfo=dt_util.UTC))
    weekly = await bot_api.wait_for_message(chat_id=ALICE.id)
    assert "Weekly resource trends" in weekly.plain_text
    assert "2026-11-23 08:00 → 2026-11-30 08:00" in weekly.plain_text
    assert len(bot_api.messages(GROUP)) == 2

    # Tuesday the 1st, 09:00: the monthly cost of November.
    await _at(hass, freezer, datetime(2026, 12, 1, 9, 0, tzinfo=dt_util.UTC))
    monthly = await bot_api.wait_for_message(lambda m: "Monthly" in m.plain_text, chat_id=ALICE.id)
    assert "2026-11-01 00:00 → 2026-12-01 00:00" in monthly.plain_text
    assert len(bot_api.messages(ALICE.id)) == 2

    # Turned off, the schedules leave no timers behind.
    await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)
