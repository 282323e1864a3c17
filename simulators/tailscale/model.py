"""The simulated tailnet: devices, their daily online pattern, credentials and tokens.

Every device follows a pattern (servers always on, laptops on workdays, phones through the
day, desktops in the evening) with a seeded per-day jitter, so a given seed and clock always
give the same tailnet. Whether a device is online, and when it was last seen, is computed
from the clock at each request: moving the clock replays days and weeks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
import random
import string
from typing import Any, Final

SCOPE_ALL: Final = "all"  # what an API key may do: everything its owner may
SCOPE_DEVICES_READ: Final = "devices:core:read"
SCOPE_DEVICES: Final = "devices:core"
MAX_LOOKBACK_DAYS: Final = 8


class Pattern(StrEnum):
    """When a device is online."""

    ALWAYS_ON = "always_on"  # servers, routers: around the clock
    WORKDAY = "workday"  # laptops: Monday to Friday, office hours
    DAILY = "daily"  # phones: every day, morning to night
    EVENING = "evening"  # desktops and TVs: every evening


# (start, end) in minutes after midnight UTC, before the day's jitter.
WINDOWS: Final = {
    Pattern.WORKDAY: (8 * 60 + 30, 17 * 60 + 30),
    Pattern.DAILY: (7 * 60, 23 * 60),
    Pattern.EVENING: (18 * 60, 23 * 60 + 30),
}
JITTER_MINUTES: Final = 30


@dataclass(kw_only=True)
class SimDevice:
    """One node of the simulated tailnet."""

    node_id: str
    device_id: str
    hostname: str
    os: str
    user: str
    pattern: Pattern
    created: datetime
    expires: datetime
    addresses: list[str]
    tags: list[str] = field(default_factory=list)
    authorized: bool = True
    key_expiry_disabled: bool = False
    client_version: str = "1.90.6-t0123456789-gabcdef012"
    update_available: bool = False
    is_external: bool = False
    forced_offline_since: datetime | None = None
    _windows: dict[tuple[date, int], tuple[datetime, datetime] | None] = field(
        default_factory=dict, repr=False
    )

    def key_expired(self, now: datetime) -> bool:
        """Whether the node key ran out (an expired node cannot connect)."""
        return not self.key_expiry_disabled and self.expires <= now

    def window(self, day: date, seed: int) -> tuple[datetime, datetime] | None:
        """When the device is online on `day` by its pattern (None: not that day)."""
        if (day, seed) not in self._windows:
            self._windows[day, seed] = self._window(day, seed)
        return self._windows[day, seed]

    def _window(self, day: date, seed: int) -> tuple[datetime, datetime] | None:
        if self.pattern is Pattern.ALWAYS_ON:
            start = datetime.combine(day, time(), UTC)
            return start, start + timedelta(days=1)
        if self.pattern is Pattern.WORKDAY and day.weekday() >= 5:
            return None
        low, high = WINDOWS[self.pattern]
        jitter = random.Random(f"{seed}:{self.node_id}:{day.isoformat()}")
        first_minute = low + jitter.randint(-JITTER_MINUTES, JITTER_MINUTES)
        last_minute = high + jitter.randint(-JITTER_MINUTES, JITTER_MINUTES)
        midnight = datetime.combine(day, time(), UTC)
        return midnight + timedelta(minutes=first_minute), midnight + timedelta(minutes=last_minute)

    def online(self, now: datetime, seed: int) -> bool:
        """Connected to the control server at `now`."""
        if now < self.created or self.key_expired(now):
            return False
        if self.forced_offline_since is not None and now >= self.forced_offline_since:
            return False
        window = self.window(now.date(), seed)
        return window is not None and window[0] <= now < window[1]

    def last_seen(self, now: datetime, seed: int) -> datetime:
        """`now` while online; otherwise the last moment it was online."""
        if self.online(now, seed):
            return now
        # Nothing after the device was cut off (forced offline, key expired) counts.
        until = now
        if self.forced_offline_since is not None:
            until = min(until, self.forced_offline_since)
        if not self.key_expiry_disabled:
            until = min(until, self.expires)
        for back in range(MAX_LOOKBACK_DAYS):
            window = self.window(until.date() - timedelta(days=back), seed)
            if window is not None and window[0] <= until:
                return max(min(window[1], until), self.created)
        return self.created

    def as_api(
        self, now: datetime, seed: int, tailnet_dns: str, *, all_fields: bool
    ) -> dict[str, Any]:
        """The device object of the Tailscale API v2."""
        online = self.online(now, seed)
        body: dict[str, Any] = {
            "addresses": list(self.addresses),
            "id": self.device_id,
            "nodeId": self.node_id,
            "user": self.user,
            "name": f"{self.hostname}.{tailnet_dns}",
            "hostname": self.hostname,
            "clientVersion": self.client_version,
            "updateAvailable": self.update_available,
            "os": self.os,
            "created": _iso(self.created),
            "connectedToControl": online,
            "lastSeen": _iso(self.last_seen(now, seed)),
            "keyExpiryDisabled": self.key_expiry_disabled,
            "expires": "0001-01-01T00:00:00Z" if self.key_expiry_disabled else _iso(self.expires),
            "authorized": self.authorized,
            "isExternal": self.is_external,
            "machineKey": "",
            "nodeKey": f"nodekey:{self.node_id.lower()}",
            "blocksIncomingConnections": False,
            "tags": list(self.tags),
            "tailnetLockError": "",
            "tailnetLockKey": f"nlpub:{self.device_id}",
        }
        if all_fields:
            body["enabledRoutes"] = []
            body["advertisedRoutes"] = []
            body["clientConnectivity"] = {
                "endpoints": ["203.0.113.7:41641"] if online else [],
                "mappingVariesByDestIP": False,
                "latency": {"Frankfurt": {"latencyMs": 12.5, "preferred": True}} if online else {},
                "clientSupports": {
                    "hairPinning": False,
                    "ipv6": True,
                    "pcp": False,
                    "pmp": False,
                    "udp": True,
                    "upnp": False,
                },
            }
        return body


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class DeviceSpec:
    """What the default fleet is made of."""

    hostname: str
    os: str
    pattern: Pattern
    tags: tuple[str, ...] = ()
    key_expiry_disabled: bool = False


_SERVER: Final = ("tag:server",)
DEFAULT_FLEET: Final = (
    DeviceSpec(hostname="nas", os="linux", pattern=Pattern.ALWAYS_ON, tags=_SERVER,
               key_expiry_disabled=True),
    DeviceSpec(hostname="proxmox", os="linux", pattern=Pattern.ALWAYS_ON, tags=_SERVER,
               key_expiry_disabled=True),
    DeviceSpec(hostname="homeassistant", os="linux", pattern=Pattern.ALWAYS_ON, tags=_SERVER,
               key_expiry_disabled=True),
    DeviceSpec(hostname="router", os="linux", pattern=Pattern.ALWAYS_ON,
               tags=("tag:subnet-router",)),
    DeviceSpec(hostname="work-laptop", os="macOS", pattern=Pattern.WORKDAY),
    DeviceSpec(hostname="alice-laptop", os="windows", pattern=Pattern.WORKDAY),
    DeviceSpec(hostname="alice-phone", os="iOS", pattern=Pattern.DAILY),
    DeviceSpec(hostname="bob-phone", os="android", pattern=Pattern.DAILY),
    DeviceSpec(hostname="gaming-pc", os="windows", pattern=Pattern.EVENING),
)  # fmt: skip


class Tailnet:
    """The devices of one tailnet and the ids that name it."""

    def __init__(
        self,
        *,
        seed: int,
        now: datetime,
        name: str,
        dns: str,
        fleet: tuple[DeviceSpec, ...] = DEFAULT_FLEET,
    ) -> None:
        """Build the fleet, each device created some weeks before `now`."""
        self.seed = seed
        self.name = name
        self.tailnet_id = "T" + self._token(random.Random(f"{seed}:tailnet"), 9) + "CNTRL"
        self.dns = dns
        self.devices: dict[str, SimDevice] = {}
        self._random = random.Random(seed)
        for spec in fleet:
            created = now - timedelta(days=self._random.randint(20, 120))
            self.add(spec, created=created, authorized=True)

    @staticmethod
    def _token(rng: random.Random, length: int) -> str:
        return "".join(rng.choices(string.ascii_letters + string.digits, k=length))

    def add(
        self, spec: DeviceSpec, *, created: datetime, authorized: bool, external: bool = False
    ) -> SimDevice:
        """A new node, as `tailscale up` makes one (key valid 180 days)."""
        rng = self._random
        index = len(self.devices) + 1
        device = SimDevice(
            node_id="n" + self._token(rng, 10) + "CNTRL",
            device_id=str(rng.randint(10**14, 10**15 - 1)),
            hostname=spec.hostname,
            os=spec.os,
            user="amelie@homelab.example" if not spec.tags else "tagged-devices",
            pattern=spec.pattern,
            created=created,
            expires=created + timedelta(days=180),
            addresses=[
                f"100.{64 + index}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                f"fd7a:115c:a1e0::{index:x}",
            ],
            tags=list(spec.tags),
            authorized=authorized,
            key_expiry_disabled=spec.key_expiry_disabled,
            is_external=external,
        )
        self.devices[device.node_id] = device
        return device

    def find(self, ident: str) -> SimDevice | None:
        """A device by node id, legacy id or host name."""
        for device in self.devices.values():
            if ident in (device.node_id, device.device_id, device.hostname):
                return device
        return None

    def names(self, ident: str) -> bool:
        """Whether a request's tailnet segment names this tailnet."""
        return ident in ("-", self.name, self.tailnet_id)
