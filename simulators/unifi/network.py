"""The simulated site: clients coming and going in a daily pattern, devices, and the WAN.

Everything is a pure function of the clock, the seed and what was injected, so a replay over
a simulated week gives the same answers however often it is asked, and frozen time in tests
moves the site along with Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
import random
from typing import Any, Final

DAY: Final = 86_400.0
HOUR: Final = 3_600.0
# A fixed past moment the seeded clients were first seen at (2026-01-01T00:00:00Z).
EPOCH: Final = 1_767_225_600.0


@dataclass(slots=True, kw_only=True)
class SimClient:
    """A station: `schedule` is None for always-on clients, else (leave, return) hours."""

    mac: str
    hostname: str
    name: str | None
    ip: str
    is_wired: bool
    first_seen: float
    schedule: tuple[float, float] | None = None
    weekend_schedule: tuple[float, float] | None = None
    oui: str = "Ubiquiti"


@dataclass(slots=True, kw_only=True)
class SimDevice:
    """A UniFi device (gateway, switch, access point) the site has adopted."""

    mac: str
    name: str
    model: str
    device_type: str
    version: str
    ip: str
    upgrade_to: str | None = None
    serial: str = ""


@dataclass(slots=True)
class Injected:
    """Anomalies injected by a test; cleared by `Network.clear()`."""

    new_clients: dict[str, SimClient] = field(default_factory=dict)
    offline: set[str] = field(default_factory=set)
    throughput_factor: float = 1.0
    extra_latency: float = 0.0
    wan_down: bool = False


_ALWAYS_ON: Final = (
    ("nas", "Synology NAS", True),
    ("printer", None, True),
    ("hue-bridge", "Hue Bridge", True),
    ("homeassistant", "Home Assistant", True),
    ("camera-front", "Front door camera", False),
    ("camera-garden", None, False),
    ("smart-tv", "Living room TV", False),
    ("thermostat", None, False),
)
_COMMUTERS: Final = (
    ("anna-phone", "Anna's phone"),
    ("ben-phone", "Ben's phone"),
    ("anna-laptop", None),
    ("ben-laptop", "Ben's laptop"),
    ("kid-tablet", None),
    ("kid-phone", "Kid's phone"),
    ("watch", None),
    ("ereader", None),
)
_DEVICES: Final = (
    ("Dream Machine Pro", "UDMPRO", "udm", "4.0.21.9965"),
    ("Core switch", "US24PRO", "usw", "7.1.26.15869"),
    ("Living room AP", "UALR6", "uap", "6.6.77.15402"),
    ("Upstairs AP", "UAL6", "uap", "6.6.65.15248"),
)


def _mac(rng: random.Random, prefix: str) -> str:
    return prefix + ":" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


class Network:
    """One site's clients, devices and WAN figures at any moment."""

    def __init__(self, *, seed: int = 0, clients: int = 16, utc_offset_hours: float = 0.0) -> None:
        """Seed a household: always-on clients, commuters with daily schedules, four devices."""
        rng = random.Random(seed)
        self.seed = seed
        self.utc_offset = utc_offset_hours * HOUR
        self.clients: dict[str, SimClient] = {}
        for index in range(clients):
            if index % 2 == 0 and index // 2 < len(_ALWAYS_ON):
                host, name, wired = _ALWAYS_ON[index // 2]
                schedule = None
                weekend = None
            else:
                host, name = _COMMUTERS[(index // 2) % len(_COMMUTERS)]
                wired = False
                leave = 7.0 + rng.random() * 2.0
                schedule = (leave, leave + 8.0 + rng.random() * 3.0)
                weekend = (11.0 + rng.random() * 2.0, 15.0 + rng.random() * 2.0)
            if index >= 2 * len(_ALWAYS_ON):
                host = f"{host}-{index}"
            client = SimClient(
                mac=_mac(rng, "a4:83:e7" if not wired else "00:11:32"),
                hostname=host,
                name=name,
                ip=f"192.168.1.{20 + index}",
                is_wired=wired,
                first_seen=EPOCH + index * HOUR,
                schedule=schedule,
                weekend_schedule=weekend,
            )
            self.clients[client.mac] = client
        self.devices: dict[str, SimDevice] = {}
        for index, (name, model, kind, version) in enumerate(_DEVICES):
            device = SimDevice(
                mac=_mac(rng, "78:45:58"),
                name=name,
                model=model,
                device_type=kind,
                version=version,
                ip=f"192.168.1.{1 + index}",
                serial=f"{rng.getrandbits(48):012X}",
            )
            self.devices[device.mac] = device
        # One access point has a firmware update waiting.
        list(self.devices.values())[3].upgrade_to = "6.6.77.15402"
        self.injected = Injected()

    # Injection

    def add_client(self, hostname: str, now: float, *, name: str | None = None) -> SimClient:
        """A client never seen before joins now and stays."""
        rng = random.Random(f"{self.seed}:{hostname}")
        client = SimClient(
            mac=_mac(rng, "de:ad:be"),
            hostname=hostname,
            name=name,
            ip=f"192.168.1.{200 + len(self.injected.new_clients)}",
            is_wired=False,
            first_seen=now,
        )
        self.injected.new_clients[client.mac] = client
        return client

    def take_offline(self, mac: str) -> None:
        """A client or device drops off the network until `bring_online` or `clear`."""
        if mac not in self.clients and mac not in self.devices:
            raise KeyError(mac)
        self.injected.offline.add(mac)

    def bring_online(self, mac: str) -> None:
        """Undo `take_offline`."""
        self.injected.offline.discard(mac)

    def collapse_throughput(self, factor: float = 0.02) -> None:
        """WAN throughput falls to `factor` of its usual level."""
        self.injected.throughput_factor = factor

    def raise_latency(self, extra_ms: float = 250.0) -> None:
        """WAN latency rises by `extra_ms`."""
        self.injected.extra_latency = extra_ms

    def set_wan_down(self, down: bool = True) -> None:
        """The internet connection is lost (or back)."""
        self.injected.wan_down = down

    def clear(self) -> None:
        """Remove every injected anomaly (new clients leave again)."""
        self.injected = Injected()

    # What the site looks like at `now`

    def _local(self, now: float) -> tuple[int, float]:
        """(weekday 0 = Monday, hour of day) in the site's local time."""
        local = now + self.utc_offset
        days = math.floor(local / DAY)
        # 1970-01-01 was a Thursday.
        return (days + 3) % 7, (local - days * DAY) / HOUR

    def is_online(self, mac: str, now: float) -> bool:
        """Whether a client or device is connected at `now`."""
        if mac in self.injected.offline:
            return False
        if mac in self.devices or mac in self.injected.new_clients:
            return True
        client = self.clients[mac]
        if client.schedule is None:
            return True
        weekday, hour = self._local(now)
        schedule = (client.weekend_schedule if weekday >= 5 else None) or client.schedule
        day_index = math.floor((now + self.utc_offset) / DAY)
        jitter = random.Random(f"{self.seed}:{mac}:{day_index}").uniform(-0.25, 0.25)
        leave, back = schedule[0] + jitter, schedule[1] + jitter
        return not leave <= hour < back

    def online_clients(self, now: float) -> list[SimClient]:
        """Every client connected at `now`."""
        everyone = [*self.clients.values(), *self.injected.new_clients.values()]
        return [client for client in everyone if self.is_online(client.mac, now)]

    def _shape(self, now: float) -> float:
        """Daily traffic shape between about 0.1 (night) and 1 (evening peak)."""
        weekday, hour = self._local(now)
        evening = math.exp(-(((hour - 21.0) / 2.0) ** 2))
        daytime = 0.35 * math.exp(-(((hour - 13.0) / 3.5) ** 2))
        if weekday >= 5:
            daytime *= 1.8
        return 0.08 + 0.92 * min(1.0, evening + daytime)

    def _noise(self, now: float, salt: str) -> float:
        """Seeded noise in [-1, 1], constant within a minute."""
        return random.Random(f"{self.seed}:{salt}:{math.floor(now / 60)}").uniform(-1.0, 1.0)

    def download_rate(self, now: float) -> float:
        """WAN download in bytes per second."""
        if self.injected.wan_down:
            return 0.0
        peak = 12_500_000.0  # 100 Mbit/s
        rate = peak * self._shape(now) * (1.0 + 0.15 * self._noise(now, "down"))
        return round(rate * self.injected.throughput_factor)

    def upload_rate(self, now: float) -> float:
        """WAN upload in bytes per second."""
        if self.injected.wan_down:
            return 0.0
        rate = 1_250_000.0 * self._shape(now) * (1.0 + 0.15 * self._noise(now, "up"))
        return round(rate * self.injected.throughput_factor)

    def latency(self, now: float) -> int | None:
        """Round-trip time to the internet in milliseconds; None while the WAN is down."""
        if self.injected.wan_down:
            return None
        base = 11.0 + 6.0 * self._shape(now) + 1.5 * self._noise(now, "latency")
        return round(base + self.injected.extra_latency)

    # API answers

    def station_rows(self, now: float) -> list[dict[str, Any]]:
        """`stat/sta`: the clients connected now."""
        gateway = next(iter(self.devices.values()))
        aps = [d for d in self.devices.values() if d.device_type == "uap"]
        rows: list[dict[str, Any]] = []
        for index, client in enumerate(self.online_clients(now)):
            row: dict[str, Any] = {
                "_id": f"{client.mac.replace(':', '')}00000000000000",
                "mac": client.mac,
                "hostname": client.hostname,
                "ip": client.ip,
                "oui": client.oui,
                "is_wired": client.is_wired,
                "is_guest": False,
                "first_seen": int(client.first_seen),
                "last_seen": int(now),
                "uptime": int(now - client.first_seen) % int(DAY),
                "site_id": "",
                "network": "Default",
                "tx_bytes": 1_000_000 + index,
                "rx_bytes": 5_000_000 + index,
                "gw_mac": gateway.mac,
            }
            if client.name:
                row["name"] = client.name
            if not client.is_wired and aps:
                ap = aps[index % len(aps)]
                row |= {"ap_mac": ap.mac, "essid": "Home", "signal": -55, "channel": 36}
            else:
                row["sw_mac"] = list(self.devices.values())[1].mac
            rows.append(row)
        return rows

    def device_rows(self, now: float) -> list[dict[str, Any]]:
        """`stat/device`: every adopted device, connected or not."""
        rows: list[dict[str, Any]] = []
        for device in self.devices.values():
            online = self.is_online(device.mac, now)
            row: dict[str, Any] = {
                "_id": f"{device.mac.replace(':', '')}000000000000",
                "mac": device.mac,
                "name": device.name,
                "model": device.model,
                "type": device.device_type,
                "serial": device.serial,
                "version": device.version,
                "ip": device.ip,
                "adopted": True,
                "state": 1 if online else 0,
                "last_seen": int(now) if online else int(now) - 300,
                "uptime": 864_000 if online else 0,
                "upgradable": device.upgrade_to is not None,
                "num_sta": 0,
            }
            if device.upgrade_to is not None:
                row["upgrade_to_firmware"] = device.upgrade_to
            rows.append(row)
        return rows

    def health_rows(self, now: float, wan_ip: str) -> list[dict[str, Any]]:
        """`stat/health`: the site's subsystems."""
        gateway = next(iter(self.devices.values()))
        clients = self.online_clients(now)
        wired = sum(client.is_wired for client in clients)
        down = self.injected.wan_down
        download, upload = self.download_rate(now), self.upload_rate(now)
        status = "error" if down or not self.is_online(gateway.mac, now) else "ok"
        aps = [d for d in self.devices.values() if d.device_type == "uap"]
        aps_down = sum(not self.is_online(d.mac, now) for d in aps)
        switches = [d for d in self.devices.values() if d.device_type == "usw"]
        wan: dict[str, Any] = {
            "subsystem": "wan",
            "num_gw": 1,
            "num_adopted": 1,
            "num_disconnected": 0 if self.is_online(gateway.mac, now) else 1,
            "num_pending": 0,
            "status": status,
            "wan_ip": wan_ip,
            "gateways": ["203.0.113.1"],
            "nameservers": ["1.1.1.1", "9.9.9.9"],
            "num_sta": len(clients),
            "tx_bytes-r": upload,
            "rx_bytes-r": download,
            "gw_mac": gateway.mac,
            "gw_name": gateway.name,
            "gw_version": gateway.version,
        }
        www: dict[str, Any] = {
            "subsystem": "www",
            "status": status,
            "tx_bytes-r": upload,
            "rx_bytes-r": download,
            "latency": self.latency(now),
            "uptime": 0 if down else 1_209_600,
            "drops": 2,
            "xput_up": 38.7,
            "xput_down": 212.4,
            "speedtest_status": "Idle",
            "speedtest_lastrun": int(now // DAY * DAY),
            "speedtest_ping": 11,
            "gw_mac": gateway.mac,
        }
        if down:
            www.pop("latency")
        wlan = {
            "subsystem": "wlan",
            "num_user": len(clients) - wired,
            "num_guest": 0,
            "num_iot": 0,
            "tx_bytes-r": upload // 2,
            "rx_bytes-r": download // 2,
            "status": "ok" if not aps_down else "warning",
            "num_ap": len(aps),
            "num_adopted": len(aps),
            "num_disabled": 0,
            "num_disconnected": aps_down,
            "num_pending": 0,
        }
        lan = {
            "subsystem": "lan",
            "lan_ip": gateway.ip,
            "status": "ok",
            "num_user": wired,
            "num_guest": 0,
            "num_iot": 0,
            "tx_bytes-r": upload // 3,
            "rx_bytes-r": download // 3,
            "num_sw": len(switches),
            "num_adopted": len(switches),
            "num_disconnected": sum(not self.is_online(d.mac, now) for d in switches),
            "num_pending": 0,
        }
        vpn = {"subsystem": "vpn", "status": "unknown"}
        return [wlan, wan, www, lan, vpn]
