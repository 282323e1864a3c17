"""Parsing what a console returns, including rows a console may leave incomplete."""

from __future__ import annotations

from custom_components.homelab_agents.network.unifi.models import (
    parse_clients,
    parse_devices,
    parse_wan,
)


def test_wan_without_gateway_or_figures() -> None:
    """A site without a gateway: WAN unknown, no figures; odd values are ignored."""
    wan = parse_wan([{"subsystem": "wan", "status": "unknown", "rx_bytes-r": "n/a"}])
    assert wan.connected is None
    assert wan.download is None
    assert wan.latency is None
    wan = parse_wan([{"subsystem": "www", "status": "error", "latency": True}])
    assert wan.connected is False
    assert wan.latency is None


def test_clients_and_devices_without_mac_are_skipped() -> None:
    """Rows without a MAC (and devices pending adoption) are not counted."""
    clients = parse_clients([{"hostname": "ghost"}, {"mac": "AA:BB:CC:00:00:01"}])
    assert list(clients) == ["aa:bb:cc:00:00:01"]
    assert clients["aa:bb:cc:00:00:01"].label == "AA:BB:CC:00:00:01"
    assert clients["aa:bb:cc:00:00:01"].first_seen is None
    devices = parse_devices(
        [
            {"name": "no mac"},
            {"mac": "78:45:58:00:00:01", "adopted": False, "state": 1},
            {"mac": "78:45:58:00:00:02", "state": 5, "upgradable": True},
        ]
    )
    assert list(devices) == ["78:45:58:00:00:02"]
    device = devices["78:45:58:00:00:02"]
    assert device.online is False  # 5: upgrading
    assert device.upgrade_to == "unknown"
    assert device.name == "78:45:58:00:00:02"
