"""What a Pi-hole hands the anomaly monitor: per-client query rates and the blocked ratio.

Samples come from one complete 10-minute slot of Pi-hole's history, once per slot: the
queries of each of the busiest `CLIENT_METRICS` clients (Pi-hole's own ranking over 24 hours,
`/api/history/clients?N=...`), and the share of blocked queries when the slot had enough
queries for a share to mean something.
"""

from __future__ import annotations

from typing import Final

from ..models import AnomalyType, Direction, MetricSample
from .models import TrafficSlot

CLIENT_METRICS: Final = 50  # clients watched for query-rate spikes (the busiest ones)
QUERY_SPIKE_FLOOR: Final = 60.0  # queries per 10 minutes: one every ten seconds above normal
BLOCKED_RATIO_FLOOR: Final = 10.0  # percentage points
BLOCKED_RATIO_MIN_QUERIES: Final = 50  # quieter slots give no ratio sample
BLOCKED_RATIO_KEY: Final = "blocked_ratio"


def client_key(ip: str) -> str:
    """The monitor's key of one client's query rate."""
    return f"client:{ip}:queries"


def _who(ip: str, name: str) -> str:
    return ip if name == ip else f"{name} ({ip})"


def pihole_samples(slot: TrafficSlot, limit: int = CLIENT_METRICS) -> list[MetricSample]:
    """Samples of one slot: a query rate per client (at most `limit`), then the blocked ratio."""
    samples = [
        MetricSample(
            key=client_key(client.ip),
            label=f"Queries from {_who(client.ip, client.name)} per 10 minutes",
            value=float(client.queries),
            anomaly=AnomalyType.QUERY_RATE_SPIKE,
            direction=Direction.UP,
            floor=QUERY_SPIKE_FLOOR,
            unit="queries",
        )
        for client in slot.clients[:limit]
    ]
    if slot.total >= BLOCKED_RATIO_MIN_QUERIES:
        samples.append(
            MetricSample(
                key=BLOCKED_RATIO_KEY,
                label="Share of blocked DNS queries",
                value=round(slot.blocked / slot.total * 100, 2),
                anomaly=AnomalyType.BLOCKED_RATIO_JUMP,
                direction=Direction.UP,
                floor=BLOCKED_RATIO_FLOOR,
                unit="%",
            )
        )
    return samples
