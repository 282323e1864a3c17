"""Telegram text: hostile alert names escaped for each parse mode, split at 4,096 characters."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.homelab_agents.alertmanager.models import AlertStatus, IncomingAlert
from custom_components.homelab_agents.reports.render import ParseMode, render_text, split_messages

from .conftest import ReportCaller

HOSTILE = '<b>x</b> & *bold* _it_ [link](http://evil) `code` ~s~ >q #h +-=|{}.! \\ "'


async def test_hostile_alert_names_are_escaped_and_split(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, generate_report: ReportCaller
) -> None:
    """Every message fits Telegram; no markup from an alert name reaches it unescaped."""
    await async_setup_component(hass, "http", {})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    now = dt_util.utcnow()
    alerts = [
        IncomingAlert(
            fingerprint=f"{index:016x}",
            status=AlertStatus.FIRING,
            starts_at=now - timedelta(minutes=index + 1),
            ends_at=None,
            labels={"alertname": f"{HOSTILE}{index} " + "&" * 300, "instance": HOSTILE},
            annotations={},
            generator_url="http://prometheus/graph",
        )
        for index in range(40)
    ]
    mock_config_entry.runtime_data.store.async_apply_webhook(alerts, "g", 0, now)

    html = (await generate_report(kind="daily", sections=["alerts"]))["text"]
    assert len(html) > 1
    assert all(len(message) <= 4096 for message in html)
    joined = "\n".join(html)
    assert "<b>x</b>" not in joined
    assert "&lt;b&gt;x&lt;/b&gt; &amp;" in joined
    assert joined.count("<b>") == joined.count("</b>")
    assert "… and 10 more" in joined  # 40 open alerts, 30 listed

    markdown = (await generate_report(kind="daily", sections=["alerts"], parse_mode="markdownv2"))[
        "text"
    ]
    assert all(len(message) <= 4096 for message in markdown)
    assert r"\*bold\* \_it\_ \[link\]\(http://evil\) \`code\`" in "\n".join(markdown)

    plain = (await generate_report(kind="daily", sections=["alerts"], parse_mode="plain_text"))[
        "text"
    ]
    assert HOSTILE in "\n".join(plain)


def test_split_never_cuts_a_line_and_bounds_a_huge_one() -> None:
    """Lines stay whole across messages; a line longer than a message is cut to fit."""
    messages = split_messages([["a" * 6, "b" * 6], ["c" * 6]], limit=14)
    assert messages == ["a" * 6 + "\n" + "b" * 6, "c" * 6]
    assert split_messages([["x" * 30]], limit=10) == ["x" * 10]


def test_unreachable_engines_and_network_sources_are_named() -> None:
    """A Docker engine or network source whose last poll failed shows as UNREACHABLE."""
    report = {
        "kind": "daily",
        "period_start": "2026-11-26T08:00:00+00:00",
        "period_end": "2026-11-27T08:00:00+00:00",
        "statistics": True,
        "sections": {
            "containers": {
                "engines": [
                    {
                        "engine": "Docker <nas>",
                        "available": False,
                        "running": 0,
                        "stopped": 0,
                        "attention": [],
                    }
                ]
            },
            "network": {
                "sources": [
                    {"source": "pihole", "title": "Pi-hole", "available": False, "anomalies": []}
                ],
                "anomalies": 0,
            },
        },
    }
    (text,) = render_text(report, ParseMode.HTML)
    assert "Docker &lt;nas&gt;: UNREACHABLE" in text
    assert "Pi-hole: UNREACHABLE" in text
