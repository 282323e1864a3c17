"""What a Cloudflare poll hands to the anomaly monitor: threats per zone in the last full hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models import AnomalyType, Direction, MetricSample
from .const import HOUR_SETTLE, THREAT_SPIKE_FLOOR
from .coordinator import hour_start
from .models import CloudflareData


def latest_complete_hour(now: datetime) -> datetime:
    """Start of the newest hour that ended at least `HOUR_SETTLE` ago."""
    return hour_start(now - HOUR_SETTLE) - timedelta(hours=1)


def threat_samples(data: CloudflareData, now: datetime) -> list[MetricSample]:
    """Per zone, the threats Cloudflare counted in the latest complete hour.

    Every poll in an hour hands the same figure; the monitor learns at most one value per ten
    minutes. A zone without a group for that hour had no traffic: 0 threats.
    """
    hour = latest_complete_hour(now)
    samples = []
    for zone in sorted(data.zones.values(), key=lambda zone: zone.name):
        hours = data.traffic.get(zone.id)
        if hours is None:
            continue
        threats = next((h.threats for h in hours if h.start == hour), 0)
        samples.append(
            MetricSample(
                key=f"zone:{zone.name}:threats",
                label=f"Threats to {zone.name} (per hour)",
                value=float(threats),
                anomaly=AnomalyType.THREAT_SPIKE,
                direction=Direction.UP,
                floor=THREAT_SPIKE_FLOOR,
                unit="threats",
            )
        )
    return samples
