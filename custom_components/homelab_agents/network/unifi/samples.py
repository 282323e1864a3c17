"""Turn a poll of the site into the anomaly monitor's samples.

Presence: every client in `stat/sta` is online; a client seen before (in the last
`FORGET_AFTER`) but absent now is offline. Infrastructure devices are always expected online.
The number of client keys per poll is bounded (`MAX_CLIENT_KEYS`): online clients first, then
the most recently seen absent ones, so a guest network with thousands of passing phones cannot
grow the monitor's state without limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, TypedDict

from ..models import AnomalyType, Direction, MetricSample, PresenceSample
from .models import SiteStatus

MAX_CLIENT_KEYS: Final = 500
FORGET_AFTER: Final = timedelta(days=14)
NEW_CLIENT_WINDOW: Final = timedelta(hours=24)

BITS_PER_BYTE: Final = 8
MBIT: Final = 1_000_000
# Deviations smaller than these are never worth an alert, whatever the baseline's spread.
THROUGHPUT_FLOOR_MBIT: Final = 2.0
LATENCY_FLOOR_MS: Final = 25.0

KEY_DOWNLOAD: Final = "wan:download"
KEY_UPLOAD: Final = "wan:upload"
KEY_LATENCY: Final = "wan:latency"


def device_key(mac: str) -> str:
    """Presence key of a UniFi device (clients use their bare MAC)."""
    return f"device:{mac}"


@dataclass(slots=True)
class _Seen:
    label: str
    last_seen: datetime


class StoredHistory(TypedDict):
    """The client history as stored: MAC to (label, last seen), MAC to first seen."""

    seen: dict[str, tuple[str, float]]
    first_seen: dict[str, float]


class ClientHistory:
    """Clients seen by recent polls: who is absent now, and who is new in the last day."""

    def __init__(self, *, track_clients: bool = True) -> None:
        """Start empty: the first poll sees only online clients.

        Without `track_clients` only devices feed presence (new clients are still counted).
        """
        self.track_clients = track_clients
        self._seen: dict[str, _Seen] = {}
        self._first_seen: dict[str, datetime] = {}

    def update(self, status: SiteStatus) -> None:
        """Record a poll's clients and forget those gone too long."""
        now = status.polled_at
        for mac, client in status.clients.items():
            self._seen[mac] = _Seen(client.label, now)
            if client.first_seen is not None and now - client.first_seen <= NEW_CLIENT_WINDOW:
                self._first_seen[mac] = client.first_seen
        horizon = now - FORGET_AFTER
        self._seen = {mac: seen for mac, seen in self._seen.items() if seen.last_seen >= horizon}
        recent = now - NEW_CLIENT_WINDOW
        self._first_seen = {mac: at for mac, at in self._first_seen.items() if at >= recent}

    def stored(self) -> StoredHistory:
        """What a restart needs to know which absent clients to report offline."""
        return {
            "seen": {
                mac: (seen.label, seen.last_seen.timestamp()) for mac, seen in self._seen.items()
            },
            "first_seen": {mac: at.timestamp() for mac, at in self._first_seen.items()},
        }

    def restore(self, stored: StoredHistory) -> None:
        """Take over a stored history (bounded as if it had been polled)."""
        self._seen = {
            str(mac): _Seen(str(label), datetime.fromtimestamp(float(at), UTC))
            for mac, (label, at) in stored["seen"].items()
        }
        self._first_seen = {
            str(mac): datetime.fromtimestamp(float(at), UTC)
            for mac, at in stored["first_seen"].items()
        }
        if len(self._seen) > MAX_CLIENT_KEYS:
            newest = sorted(self._seen, key=lambda mac: self._seen[mac].last_seen)
            for mac in newest[: len(self._seen) - MAX_CLIENT_KEYS]:
                del self._seen[mac]

    def new_clients(self) -> int:
        """Clients first seen by the controller in the last 24 hours (and seen by a poll)."""
        return len(self._first_seen)

    def known(self) -> int:
        """Clients remembered for presence."""
        return len(self._seen)

    def presence(self, status: SiteStatus) -> list[PresenceSample]:
        """Online and absent clients (bounded), then every device."""
        devices = [
            PresenceSample(key=device_key(mac), label=device.name, online=device.online)
            for mac, device in sorted(status.devices.items())
        ]
        if not self.track_clients:
            return devices
        online = [
            PresenceSample(key=mac, label=client.label, online=True)
            for mac, client in sorted(status.clients.items())
        ][:MAX_CLIENT_KEYS]
        absent = sorted(
            ((mac, seen) for mac, seen in self._seen.items() if mac not in status.clients),
            key=lambda item: (item[1].last_seen, item[0]),
            reverse=True,
        )[: MAX_CLIENT_KEYS - len(online)]
        offline = [PresenceSample(key=mac, label=seen.label, online=False) for mac, seen in absent]
        return online + offline + devices


def wan_metrics(status: SiteStatus) -> list[MetricSample]:
    """WAN throughput (a collapse is anomalous) and latency (a rise is) in readable units."""
    wan = status.wan
    metrics: list[MetricSample] = []
    if wan.connected is False:
        # A lost link is shown by the WAN sensor; zero throughput then is no new information.
        return metrics
    if wan.download is not None:
        metrics.append(
            MetricSample(
                key=KEY_DOWNLOAD,
                label="WAN download",
                value=round(wan.download * BITS_PER_BYTE / MBIT, 2),
                anomaly=AnomalyType.WAN_THROUGHPUT_COLLAPSE,
                direction=Direction.DOWN,
                floor=THROUGHPUT_FLOOR_MBIT,
                unit="Mbit/s",
            )
        )
    if wan.upload is not None:
        metrics.append(
            MetricSample(
                key=KEY_UPLOAD,
                label="WAN upload",
                value=round(wan.upload * BITS_PER_BYTE / MBIT, 2),
                anomaly=AnomalyType.WAN_THROUGHPUT_COLLAPSE,
                direction=Direction.DOWN,
                floor=THROUGHPUT_FLOOR_MBIT / 4,
                unit="Mbit/s",
            )
        )
    if wan.latency is not None:
        metrics.append(
            MetricSample(
                key=KEY_LATENCY,
                label="WAN latency",
                value=wan.latency,
                anomaly=AnomalyType.WAN_LATENCY_RISE,
                direction=Direction.UP,
                floor=LATENCY_FLOOR_MS,
                unit="ms",
            )
        )
    return metrics


def site_samples(
    status: SiteStatus, history: ClientHistory
) -> tuple[list[MetricSample], list[PresenceSample]]:
    """The samples of one poll; records the poll in `history` afterwards."""
    presence = history.presence(status)
    history.update(status)
    return wan_metrics(status), presence
