"""The samples a poll hands to the anomaly monitor: bounded presence, WAN metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custom_components.homelab_agents.network.models import AnomalyType, Direction
from custom_components.homelab_agents.network.unifi.models import (
    Client,
    Device,
    SiteStatus,
    Wan,
)
from custom_components.homelab_agents.network.unifi.samples import (
    MAX_CLIENT_KEYS,
    ClientHistory,
    device_key,
    site_samples,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
WAN_UP = Wan(connected=True, ip="198.51.100.23", download=12_500_000, upload=None, latency=14)
GATEWAY = Device(
    mac="78:45:58:00:00:01", name="Gateway", model="UDMPRO", device_type="udm",
    version="4.0.21", online=True, upgrade_to=None, serial=None,
)  # fmt: skip


def _client(index: int, first_seen: datetime | None = None) -> Client:
    mac = f"a4:83:e7:00:{index // 256:02x}:{index % 256:02x}"
    return Client(mac=mac, label=f"phone-{index}", first_seen=first_seen)


def _status(clients: list[Client], moment: datetime = NOW, wan: Wan = WAN_UP) -> SiteStatus:
    return SiteStatus(
        polled_at=moment,
        wan=wan,
        clients={client.mac: client for client in clients},
        devices={GATEWAY.mac: GATEWAY},
    )


def test_wan_metrics_in_mbit_and_ms() -> None:
    """Download collapses and latency rises are watched; missing figures are left out."""
    metrics, _ = site_samples(_status([]), ClientHistory())
    by_key = {metric.key: metric for metric in metrics}
    assert set(by_key) == {"wan:download", "wan:latency"}
    assert by_key["wan:download"].value == 100.0
    assert by_key["wan:download"].unit == "Mbit/s"
    assert by_key["wan:download"].direction is Direction.DOWN
    assert by_key["wan:download"].anomaly is AnomalyType.WAN_THROUGHPUT_COLLAPSE
    assert by_key["wan:latency"].direction is Direction.UP
    assert by_key["wan:latency"].anomaly is AnomalyType.WAN_LATENCY_RISE
    down = Wan(connected=False, ip=None, download=0, upload=0, latency=None)
    assert site_samples(_status([], wan=down), ClientHistory())[0] == []


def test_absent_clients_are_offline_and_forgotten_after_two_weeks() -> None:
    """A client seen before and absent now is offline; after 14 days it is no longer sent."""
    history = ClientHistory()
    phone, tablet = _client(1), _client(2)
    site_samples(_status([phone, tablet]), history)
    _, presence = site_samples(_status([phone], NOW + timedelta(hours=1)), history)
    assert [(p.key, p.online) for p in presence] == [
        (phone.mac, True),
        (tablet.mac, False),
        (device_key(GATEWAY.mac), True),
    ]
    site_samples(_status([phone], NOW + timedelta(days=15)), history)
    assert history.known() == 1
    _, presence = site_samples(_status([phone], NOW + timedelta(days=15, minutes=1)), history)
    assert tablet.mac not in {p.key for p in presence}


def test_presence_keys_are_bounded() -> None:
    """Online clients first, then the most recently seen absent ones, up to the bound."""
    history = ClientHistory()
    crowd = [_client(index) for index in range(MAX_CLIENT_KEYS + 100)]
    site_samples(_status(crowd), history)
    _, presence = site_samples(_status(crowd[:10], NOW + timedelta(minutes=1)), history)
    clients = [p for p in presence if not p.key.startswith("device:")]
    assert len(clients) == MAX_CLIENT_KEYS
    assert sum(p.online for p in clients) == 10
    assert len(presence) == MAX_CLIENT_KEYS + 1


def test_new_clients_of_the_last_day_and_untracked_clients() -> None:
    """New clients are counted for a day; without client tracking only devices are sent."""
    history = ClientHistory(track_clients=False)
    newcomer = _client(1, first_seen=NOW - timedelta(hours=2))
    regular = _client(2, first_seen=NOW - timedelta(days=30))
    _, presence = site_samples(_status([newcomer, regular]), history)
    assert [p.key for p in presence] == [device_key(GATEWAY.mac)]
    assert history.new_clients() == 1
    site_samples(_status([regular], NOW + timedelta(hours=23)), history)
    assert history.new_clients() == 0


def test_history_survives_storage_and_stays_bounded() -> None:
    """The stored history restores who was seen; an oversized one keeps the newest."""
    history = ClientHistory()
    crowd = [_client(index, first_seen=NOW) for index in range(MAX_CLIENT_KEYS + 5)]
    site_samples(_status(crowd[:5]), history)
    site_samples(_status(crowd[5:], NOW + timedelta(minutes=1)), history)
    stored = history.stored()
    assert len(stored["seen"]) == MAX_CLIENT_KEYS + 5
    restored = ClientHistory()
    restored.restore(stored)
    assert restored.known() == MAX_CLIENT_KEYS
    assert restored.new_clients() == MAX_CLIENT_KEYS + 5
    _, presence = site_samples(_status([], NOW + timedelta(minutes=2)), restored)
    offline = {p.key for p in presence if not p.online}
    assert crowd[0].mac not in offline  # among the oldest seen: dropped
    assert crowd[-1].mac in offline
