"""What network sources hand to the anomaly monitor, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypedDict

from homeassistant.util import dt as dt_util


class Direction(StrEnum):
    """Which deviation from a metric's baseline counts as anomalous."""

    UP = "up"  # spikes and rises: query rates, threats, latency
    DOWN = "down"  # collapses: WAN throughput
    BOTH = "both"


class AnomalyType(StrEnum):
    """The anomalies the detector flags; also the `type` of event entity events."""

    QUERY_RATE_SPIKE = "query_rate_spike"  # Pi-hole: one client's query rate
    BLOCKED_RATIO_JUMP = "blocked_ratio_jump"  # Pi-hole: share of blocked queries
    NEW_DEVICE = "new_device"  # UniFi client or Tailscale device never seen before
    DEVICE_OFFLINE = "device_offline"  # a device that normally stays online went offline
    THREAT_SPIKE = "threat_spike"  # Cloudflare: threats per zone
    WAN_THROUGHPUT_COLLAPSE = "wan_throughput_collapse"  # UniFi
    WAN_LATENCY_RISE = "wan_latency_rise"  # UniFi


@dataclass(frozen=True, slots=True)
class MetricSample:
    """One observation of a numeric metric at poll time.

    `key` is stable across polls and restarts (the baseline is stored under it), for example
    `client:192.168.1.20:queries` or `zone:example.com:threats`. `floor` is the smallest
    absolute deviation worth flagging, so a metric that moves from 2 to 5 is not a "spike".
    """

    key: str
    label: str  # what a person reads: "Queries from 192.168.1.20 (per 10 minutes)"
    value: float
    anomaly: AnomalyType
    direction: Direction = Direction.UP
    floor: float = 0.0
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class PresenceSample:
    """Whether one device is online now; new keys after warm-up are new devices."""

    key: str  # stable device identity: UniFi client MAC, Tailscale node id
    label: str  # the device's name as its source knows it
    online: bool


class AnomalyDict(TypedDict):
    """An anomaly as stored, shown in attributes and sent in events."""

    source: str
    anomaly: str
    key: str
    label: str
    observed: float | None
    expected_low: float | None
    expected_high: float | None
    unit: str | None
    detected_at: str


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One flagged deviation, with the explanation people and alerts show."""

    source: str  # the entry's kind, e.g. "pihole"
    anomaly: AnomalyType
    key: str  # the metric or device key it concerns
    label: str
    observed: float | None  # None for presence anomalies
    expected_low: float | None
    expected_high: float | None
    unit: str | None
    detected_at: datetime

    @property
    def explanation(self) -> str:
        """One sentence: what was observed against what was expected."""
        unit = f" {self.unit}" if self.unit else ""
        if self.anomaly is AnomalyType.NEW_DEVICE:
            return f"New device on the network: {self.label}"
        if self.anomaly is AnomalyType.DEVICE_OFFLINE:
            return f"{self.label} went offline; it is normally online at this time"
        return (
            f"{self.label}: observed {self.observed:g}{unit}, "
            f"expected {self.expected_low:g} to {self.expected_high:g}{unit}"
        )

    @property
    def identity(self) -> tuple[AnomalyType, str]:
        """What makes it the same anomaly from one poll to the next."""
        return (self.anomaly, self.key)

    def as_dict(self) -> AnomalyDict:
        """The stored form (also what entities and alerts show)."""
        return {
            "source": self.source,
            "anomaly": self.anomaly.value,
            "key": self.key,
            "label": self.label,
            "observed": self.observed,
            "expected_low": self.expected_low,
            "expected_high": self.expected_high,
            "unit": self.unit,
            "detected_at": self.detected_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: AnomalyDict) -> Anomaly:
        """Read the stored form; ValueError, KeyError or TypeError when it is not one."""
        detected_at = dt_util.parse_datetime(data["detected_at"])
        if detected_at is None or detected_at.tzinfo is None:
            raise ValueError("detected_at is not an aware timestamp")
        return cls(
            source=str(data["source"]),
            anomaly=AnomalyType(data["anomaly"]),
            key=str(data["key"]),
            label=str(data["label"]),
            observed=_optional_float(data["observed"]),
            expected_low=_optional_float(data["expected_low"]),
            expected_high=_optional_float(data["expected_high"]),
            unit=None if data["unit"] is None else str(data["unit"]),
            detected_at=detected_at,
        )


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise TypeError("not a number")
    return float(value)
