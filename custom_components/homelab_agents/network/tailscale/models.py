"""A tailnet as one poll saw it: its devices, parsed from the API's device objects."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.util import dt as dt_util

from ..models import PresenceSample


@dataclass(frozen=True, kw_only=True, slots=True)
class TailscaleDevice:
    """One device (node) of the tailnet."""

    node_id: str  # stable identity; the API accepts it wherever a device id is asked for
    device_id: str  # the legacy numeric id
    name: str  # MagicDNS name, e.g. `nas.tail1234.ts.net`
    hostname: str
    addresses: tuple[str, ...]
    authorized: bool
    key_expiry_disabled: bool
    expires: datetime | None  # None when key expiry is disabled
    last_seen: datetime | None
    connected_to_control: bool | None
    update_available: bool | None
    client_version: str | None
    os: str | None
    user: str | None
    tags: tuple[str, ...]
    is_external: bool

    @property
    def label(self) -> str:
        """What people call the device: the first label of its MagicDNS name."""
        return self.name.split(".", 1)[0] or self.hostname or self.node_id

    def online(self, now: datetime, threshold: timedelta) -> bool:
        """Connected to the control server now, or seen within `threshold` (key still valid)."""
        if self.expires is not None and self.expires <= now:
            return False
        if self.connected_to_control:
            return True
        return self.last_seen is not None and now - self.last_seen <= threshold

    def key_expires_within(self, now: datetime, window: timedelta) -> bool:
        """Whether the node key runs out within `window` (or already did)."""
        return self.expires is not None and self.expires - now <= window


def parse_device(raw: dict[str, Any]) -> TailscaleDevice | None:
    """A device object of the API; None when it lacks its identity."""
    node_id = raw.get("nodeId")
    if not isinstance(node_id, str) or not node_id:
        return None
    key_expiry_disabled = bool(raw.get("keyExpiryDisabled"))
    return TailscaleDevice(
        node_id=node_id,
        device_id=str(raw.get("id") or ""),
        name=str(raw.get("name") or ""),
        hostname=str(raw.get("hostname") or ""),
        addresses=tuple(str(a) for a in raw.get("addresses") or ()),
        authorized=bool(raw.get("authorized")),
        key_expiry_disabled=key_expiry_disabled,
        expires=None if key_expiry_disabled else _timestamp(raw.get("expires")),
        last_seen=_timestamp(raw.get("lastSeen")),
        connected_to_control=_flag(raw.get("connectedToControl")),
        update_available=_flag(raw.get("updateAvailable")),
        client_version=raw.get("clientVersion") or None,
        os=raw.get("os") or None,
        user=raw.get("user") or None,
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        is_external=bool(raw.get("isExternal")),
    )


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _timestamp(value: Any) -> datetime | None:
    """An RFC 3339 time; the API's zero time (year 1) and empty strings mean none."""
    if not isinstance(value, str) or not value:
        return None
    parsed = dt_util.parse_datetime(value)
    if parsed is None or parsed.year <= 1:
        return None
    return parsed


@dataclass(frozen=True, kw_only=True, slots=True)
class TailnetSnapshot:
    """The tailnet's own devices (by node id) and how many were shared in from elsewhere."""

    devices: dict[str, TailscaleDevice]
    shared_in: int
    polled_at: datetime


def parse_devices(raw: list[dict[str, Any]], now: datetime) -> TailnetSnapshot:
    """The snapshot of one devices answer."""
    devices: dict[str, TailscaleDevice] = {}
    shared_in = 0
    for item in raw:
        device = parse_device(item)
        if device is None:
            continue
        if device.is_external:
            shared_in += 1
            continue
        devices[device.node_id] = device
    return TailnetSnapshot(devices=devices, shared_in=shared_in, polled_at=now)


def tailnet_identity(raw: list[dict[str, Any]]) -> str | None:
    """The tailnet's MagicDNS domain (`tail1234.ts.net`), as its own devices' names carry it.

    Whatever the tailnet is called in the request (`-`, its organisation name or its id), the
    domain is the same, so it identifies the tailnet. None for a tailnet without own devices.
    """
    domains = Counter(
        device.name.split(".", 1)[1].lower()
        for item in raw
        if (device := parse_device(item)) is not None
        and not device.is_external
        and "." in device.name
    )
    return domains.most_common(1)[0][0] if domains else None


def presence_samples(
    snapshot: TailnetSnapshot, now: datetime, threshold: timedelta
) -> list[PresenceSample]:
    """Whether each own device is online: what the anomaly monitor learns presence from."""
    return [
        PresenceSample(key=device.node_id, label=device.label, online=device.online(now, threshold))
        for device in snapshot.devices.values()
    ]
