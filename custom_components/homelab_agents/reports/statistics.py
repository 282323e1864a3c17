"""Weekly resource trends and monthly energy from Home Assistant's long-term statistics.

Every query runs in the recorder's executor, one job per report, so a report never blocks the
event loop however many entities and days it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from homeassistant.components.recorder.statistics import get_metadata, statistics_during_period
from homeassistant.const import UnitOfEnergy, UnitOfInformation, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.recorder import get_instance
from homeassistant.util.unit_conversion import EnergyConverter, PowerConverter

from ..const import DOMAIN
from .models import TOP_GUESTS, ReportPeriod, clip

if TYPE_CHECKING:
    from homeassistant.components.recorder.statistics import StatisticsRow

    from ..proxmox.runtime import ProxmoxRuntime

HOUR = timedelta(hours=1)
DAY_SECONDS = 86400
_UNITS: dict[str, str] = {
    "information": UnitOfInformation.BYTES,
    "energy": UnitOfEnergy.KILO_WATT_HOUR,
    "power": UnitOfPower.WATT,
}
type Rows = dict[str, list[StatisticsRow]]


def recorder_running(hass: HomeAssistant) -> bool:
    """Whether long-term statistics can be read at all."""
    return "recorder" in hass.config.components


async def _async_rows(
    hass: HomeAssistant,
    start: datetime,
    end: datetime,
    statistic_ids: set[str],
    types: set[Literal["change", "max", "mean"]],
) -> Rows:
    if not statistic_ids:
        return {}
    return await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        start,
        end,
        statistic_ids,
        "hour",
        _UNITS,
        types,
    )


def _between(rows: Iterable[StatisticsRow], start: datetime, end: datetime) -> list[StatisticsRow]:
    first, last = start.timestamp(), end.timestamp()
    return [row for row in rows if first <= row["start"] < last]


@dataclass(frozen=True, slots=True)
class Figure:
    """Mean (of the hourly means) and peak (of the hourly maxima) of one sensor in a period."""

    mean: float | None
    peak: float | None

    @classmethod
    def of(cls, rows: list[StatisticsRow]) -> Figure:
        """Equal weight for every hour that has statistics."""
        means = [mean for row in rows if (mean := row.get("mean")) is not None]
        peaks = [peak for row in rows if (peak := row.get("max")) is not None]
        return cls(
            mean=round(sum(means) / len(means), 1) if means else None,
            peak=round(max(peaks), 1) if peaks else None,
        )


def _compare(rows: list[StatisticsRow], period: ReportPeriod) -> dict[str, Any]:
    now = Figure.of(_between(rows, period.start, period.end))
    before = Figure.of(_between(rows, period.previous_start, period.previous_end))
    change = (
        round(now.mean - before.mean, 1)
        if now.mean is not None and before.mean is not None
        else None
    )
    return {
        "mean": now.mean,
        "peak": now.peak,
        "previous_mean": before.mean,
        "previous_peak": before.peak,
        "change": change,
    }


def _entity_id(registry: er.EntityRegistry, unique_id: str) -> str | None:
    return registry.async_get_entity_id("sensor", DOMAIN, unique_id)


async def async_weekly_sections(
    hass: HomeAssistant, clusters: list[ProxmoxRuntime], period: ReportPeriod
) -> dict[str, Any]:
    """Per node and the busiest guests: mean and peak CPU and memory; storage growth."""
    registry = er.async_get(hass)
    wanted: dict[tuple[str, str], str] = {}  # (prefix, figure) -> entity id
    for runtime in clusters:
        data = runtime.coordinator.data
        prefixes = [f"{runtime.identity}_node_{name}" for name in data.nodes]
        prefixes += [f"{runtime.identity}_guest_{vmid}" for vmid in data.guests]
        for prefix in prefixes:
            for figure in ("cpu", "memory"):
                if entity_id := _entity_id(registry, f"{prefix}_{figure}"):
                    wanted[prefix, figure] = entity_id
        for key in data.storages:
            prefix = f"{runtime.identity}_storage_{key}"
            if entity_id := _entity_id(registry, f"{prefix}_used"):
                wanted[prefix, "used"] = entity_id
    rows = await _async_rows(
        hass, period.previous_start, period.end, set(wanted.values()), {"mean", "max"}
    )

    def trend(prefix: str, figure: str) -> dict[str, Any]:
        return _compare(rows.get(wanted.get((prefix, figure), ""), []), period)

    nodes: list[dict[str, Any]] = []
    guests: list[dict[str, Any]] = []
    storages: list[dict[str, Any]] = []
    for runtime in clusters:
        data = runtime.coordinator.data
        for name in sorted(data.nodes):
            prefix = f"{runtime.identity}_node_{name}"
            nodes.append(
                {
                    "cluster": data.name,
                    "node": name,
                    "cpu": trend(prefix, "cpu"),
                    "memory": trend(prefix, "memory"),
                }
            )
        for vmid, guest in sorted(data.guests.items()):
            prefix = f"{runtime.identity}_guest_{vmid}"
            guests.append(
                {
                    "cluster": data.name,
                    "vmid": vmid,
                    "name": clip(guest.name) or None,
                    "node": guest.node,
                    "cpu": trend(prefix, "cpu"),
                    "memory": trend(prefix, "memory"),
                }
            )
        for key, storage in sorted(data.storages.items()):
            used = rows.get(wanted.get((f"{runtime.identity}_storage_{key}", "used"), ""), [])
            storages.append(
                {
                    "cluster": data.name,
                    "storage": key,
                    "total": storage.total,
                    **_growth(used, period, storage.total),
                }
            )
    busiest = [g for g in guests if g["cpu"]["mean"] is not None]
    busiest.sort(key=lambda g: (-g["cpu"]["mean"], g["vmid"]))
    return {"nodes": nodes, "guests": busiest[:TOP_GUESTS], "storage": storages}


def _growth(rows: list[StatisticsRow], period: ReportPeriod, total: int | None) -> dict[str, Any]:
    """Bytes used at the first and last hour of the week, growth per day, days until full."""
    week = [row for row in _between(rows, period.start, period.end) if row.get("mean") is not None]
    before = [
        row
        for row in _between(rows, period.previous_start, period.previous_end)
        if row.get("mean") is not None
    ]
    result: dict[str, Any] = {
        "used": None,
        "growth": None,
        "growth_per_day": None,
        "previous_growth": _change(before),
        "days_until_full": None,
    }
    if not week:
        return result
    used = float(week[-1]["mean"])  # type: ignore[arg-type]
    growth = _change(week)
    result |= {"used": round(used), "growth": growth}
    span = (week[-1]["start"] - week[0]["start"]) / DAY_SECONDS
    if growth is not None and span > 0:
        per_day = growth / span
        result["growth_per_day"] = round(per_day)
        if per_day > 0 and total:
            result["days_until_full"] = round(max(total - used, 0) / per_day, 1)
    return result


def _change(rows: list[StatisticsRow]) -> int | None:
    if len(rows) < 2:
        return None
    return round(float(rows[-1]["mean"]) - float(rows[0]["mean"]))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyPrice:
    """A fixed price per kWh, or a price sensor (its hourly means, else its state)."""

    fixed: float | None = None
    entity_id: str | None = None
    current: float | None = None  # the price sensor's state now


async def async_energy_section(
    hass: HomeAssistant, meters: list[str], price: EnergyPrice, period: ReportPeriod
) -> dict[str, Any]:
    """Energy (kWh) per meter and in total, its cost, this period against the previous one."""
    ids = set(meters) | ({price.entity_id} if price.entity_id else set())
    metadata, rows = await get_instance(hass).async_add_executor_job(
        _energy_rows, hass, period, ids
    )
    price_rows = {row["start"]: row.get("mean") for row in rows.get(price.entity_id or "", [])}
    results: list[dict[str, Any]] = []
    totals = {"now": 0.0, "before": 0.0}
    costs: dict[str, float | None] = {"now": 0.0, "before": 0.0}
    for entity_id in meters:
        unit = metadata.get(entity_id)
        meter: dict[str, Any] = {"entity_id": entity_id, "name": _name(hass, entity_id)}
        for label, start, end in (
            ("now", period.start, period.end),
            ("before", period.previous_start, period.previous_end),
        ):
            hours = _hourly_kwh(_between(rows.get(entity_id, []), start, end), unit)
            kwh = sum(hours.values())
            cost = _cost(hours, price, price_rows)
            totals[label] += kwh
            running = costs[label]
            costs[label] = None if cost is None or running is None else running + cost
            key = "" if label == "now" else "previous_"
            meter[f"{key}kwh"] = round(kwh, 3)
            meter[f"{key}cost"] = None if cost is None else round(cost, 2)
        meter["supported"] = unit is not None
        results.append(meter)
    now_kwh, before_kwh = round(totals["now"], 3), round(totals["before"], 3)
    cost_now, cost_before = costs["now"], costs["before"]
    return {
        "meters": results,
        "kwh": now_kwh,
        "previous_kwh": before_kwh,
        "change_percent": (
            round((now_kwh - before_kwh) / before_kwh * 100, 1) if before_kwh else None
        ),
        "cost": None if cost_now is None or not meters else round(cost_now, 2),
        "previous_cost": None if cost_before is None or not meters else round(cost_before, 2),
        "currency": hass.config.currency,
        "price": price.fixed,
        "price_entity": price.entity_id,
    }


def _energy_rows(
    hass: HomeAssistant, period: ReportPeriod, ids: set[str]
) -> tuple[dict[str, str], Rows]:
    """The unit class of each meter ("energy" or "power") and its hourly statistics."""
    kinds: dict[str, str] = {}
    for statistic_id, (_, meta) in get_metadata(hass, statistic_ids=ids).items():
        unit = meta["unit_of_measurement"]
        if unit in EnergyConverter.VALID_UNITS:
            kinds[statistic_id] = "energy"
        elif unit in PowerConverter.VALID_UNITS:
            kinds[statistic_id] = "power"
    rows = statistics_during_period(
        hass, period.previous_start, period.end, ids, "hour", _UNITS, {"change", "mean"}
    )
    return kinds, rows


def _hourly_kwh(rows: list[StatisticsRow], unit: str | None) -> dict[float, float]:
    """Energy (kWh) per hour: a meter's change, or a power sensor's mean (W) over the hour."""
    hours: dict[float, float] = {}
    for row in rows:
        if unit == "energy" and row.get("change") is not None:
            hours[row["start"]] = float(row["change"])  # type: ignore[arg-type]
        elif unit == "power" and row.get("mean") is not None:
            hours[row["start"]] = float(row["mean"]) / 1000  # type: ignore[arg-type]
    return hours


def _cost(
    hours: dict[float, float], price: EnergyPrice, price_rows: dict[float, float | None]
) -> float | None:
    if price.fixed is not None:
        return sum(hours.values()) * price.fixed
    if price.entity_id is None:
        return None
    total = 0.0
    for start, kwh in hours.items():
        hourly = price_rows.get(start)
        rate = hourly if hourly is not None else price.current
        if rate is None:
            return None
        total += kwh * rate
    return total


def _name(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    return clip(state.name if state else entity_id)
