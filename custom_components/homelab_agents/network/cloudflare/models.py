"""What the Cloudflare API tells about an account: zones, tunnels and hourly zone traffic."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CloudflareAccount:
    """An account the token belongs to."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CloudflareZone:
    """A zone (domain) of the account."""

    id: str
    name: str
    status: str


@dataclass(frozen=True, slots=True)
class CloudflareTunnel:
    """A Cloudflare Tunnel and its state as Cloudflare sees its connections."""

    id: str
    name: str
    status: str  # healthy, degraded, down or inactive
    connections: int


@dataclass(frozen=True, slots=True)
class HourTraffic:
    """One zone's HTTP traffic in one hour (`httpRequests1hGroups`)."""

    start: datetime
    requests: int
    cached_requests: int
    bytes: int
    cached_bytes: int
    threats: int
    page_views: int


@dataclass(frozen=True, slots=True)
class TrafficTotals:
    """A zone's traffic summed over the hours shown."""

    requests: int
    cached_requests: int
    bytes: int
    threats: int
    page_views: int

    @property
    def cached_ratio(self) -> float | None:
        """Share of requests served from Cloudflare's cache, in percent."""
        if not self.requests:
            return None
        return round(self.cached_requests / self.requests * 100, 1)

    @classmethod
    def of(cls, hours: list[HourTraffic]) -> TrafficTotals:
        """Sum hourly figures."""
        return cls(
            requests=sum(hour.requests for hour in hours),
            cached_requests=sum(hour.cached_requests for hour in hours),
            bytes=sum(hour.bytes for hour in hours),
            threats=sum(hour.threats for hour in hours),
            page_views=sum(hour.page_views for hour in hours),
        )


@dataclass(slots=True)
class CloudflareData:
    """One poll: the account's zones (those included), tunnels and zone traffic."""

    polled_at: datetime
    zones: dict[str, CloudflareZone] = field(default_factory=dict)
    tunnels: dict[str, CloudflareTunnel] = field(default_factory=dict)
    traffic: dict[str, list[HourTraffic]] = field(default_factory=dict)  # by zone id

    def totals(self, zone_id: str) -> TrafficTotals | None:
        """The zone's figures over the hours shown; None when the zone had no answer."""
        hours = self.traffic.get(zone_id)
        return None if hours is None else TrafficTotals.of(hours)
