"""What one poll of a UniFi site returns, parsed from `stat/health`, `stat/sta`, `stat/device`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Wan:
    """The site's internet connection (`wan` and `www` subsystems)."""

    connected: bool | None  # None: the site has no gateway reporting
    ip: str | None
    download: float | None  # bytes per second (the gateway's WAN receive rate)
    upload: float | None
    latency: float | None  # milliseconds to the internet


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """A station connected now."""

    mac: str
    label: str
    first_seen: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A UniFi device adopted by the site (gateway, switch, access point...)."""

    mac: str
    name: str
    model: str
    device_type: str
    version: str | None
    online: bool
    upgrade_to: str | None  # the firmware offered when an update is available
    serial: str | None

    @property
    def upgradable(self) -> bool:
        """Whether a firmware update is available."""
        return self.upgrade_to is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteStatus:
    """One poll of the site."""

    polled_at: datetime
    wan: Wan
    clients: dict[str, Client]  # by MAC
    devices: dict[str, Device]  # by MAC

    @property
    def devices_online(self) -> int:
        """Devices connected to the controller."""
        return sum(device.online for device in self.devices.values())

    @property
    def devices_offline(self) -> int:
        """Adopted devices the controller cannot reach."""
        return len(self.devices) - self.devices_online

    @property
    def firmware_updates(self) -> int:
        """Devices with a firmware update available."""
        return sum(device.upgradable for device in self.devices.values())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def parse_wan(health: list[dict[str, Any]]) -> Wan:
    """The WAN from `stat/health`: link and figures from `wan`, latency from `www`."""
    subsystems = {str(row.get("subsystem")): row for row in health}
    wan = subsystems.get("wan", {})
    www = subsystems.get("www", {})
    status = wan.get("status") or www.get("status")
    connected = None if status in (None, "unknown") else status == "ok"
    return Wan(
        connected=connected,
        ip=_text(wan.get("wan_ip")),
        download=_number(wan.get("rx_bytes-r", www.get("rx_bytes-r"))),
        upload=_number(wan.get("tx_bytes-r", www.get("tx_bytes-r"))),
        latency=_number(www.get("latency")),
    )


def client_label(row: dict[str, Any]) -> str:
    """What people call a client: its alias in the UniFi UI, else its host name, else the MAC."""
    return str(row.get("name") or row.get("hostname") or row.get("mac"))


def parse_clients(rows: list[dict[str, Any]]) -> dict[str, Client]:
    """`stat/sta` rows by MAC."""
    clients: dict[str, Client] = {}
    for row in rows:
        mac = _text(row.get("mac"))
        if mac is None:
            continue
        first = _number(row.get("first_seen"))
        clients[mac.lower()] = Client(
            mac=mac.lower(),
            label=client_label(row),
            first_seen=datetime.fromtimestamp(first, UTC) if first else None,
        )
    return clients


def parse_devices(rows: list[dict[str, Any]]) -> dict[str, Device]:
    """`stat/device` rows by MAC; `state` 1 means connected."""
    devices: dict[str, Device] = {}
    for row in rows:
        mac = _text(row.get("mac"))
        if mac is None or row.get("adopted") is False:
            continue
        upgrade_to = _text(row.get("upgrade_to_firmware")) if row.get("upgradable") else None
        devices[mac.lower()] = Device(
            mac=mac.lower(),
            name=str(row.get("name") or row.get("model") or mac),
            model=str(row.get("model") or "UniFi device"),
            device_type=str(row.get("type") or ""),
            version=_text(row.get("version")),
            online=row.get("state") == 1,
            upgrade_to=upgrade_to or ("unknown" if row.get("upgradable") else None),
            serial=_text(row.get("serial")),
        )
    return devices
