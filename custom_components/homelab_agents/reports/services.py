"""The `generate_report` service action: collect a report's figures, then render its text."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError, TemplateError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.template import Template
from homeassistant.util import dt as dt_util
import probatio

from ..const import DOMAIN, SIGNAL_REPORT_GENERATED
from .daily import (
    alerts_section,
    backups_section,
    guests_section,
    loaded_clusters,
    nodes_section,
    tasks_section,
)
from .models import SECTIONS, ReportKind, ReportPeriod, period_for
from .render import ParseMode, render_markdown, render_text, split_messages
from .sources import containers_section, network_section
from .statistics import (
    EnergyPrice,
    async_energy_section,
    async_weekly_sections,
    recorder_running,
)

SERVICE_GENERATE_REPORT: Final = "generate_report"
ATTR_KIND: Final = "kind"
ATTR_PERIOD_END: Final = "period_end"
ATTR_SECTIONS: Final = "sections"
ATTR_TEMPLATE: Final = "template"
ATTR_PARSE_MODE: Final = "parse_mode"
ATTR_ENERGY_ENTITIES: Final = "energy_entities"
ATTR_PRICE: Final = "price"
ATTR_PRICE_ENTITY: Final = "price_entity"

ALL_SECTIONS: Final = sorted({name for names in SECTIONS.values() for name in names})

GENERATE_REPORT_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_KIND): probatio.In([kind.value for kind in ReportKind]),
        probatio.Optional(ATTR_PERIOD_END): cv.datetime,
        probatio.Optional(ATTR_SECTIONS): probatio.All(cv.ensure_list, [probatio.In(ALL_SECTIONS)]),
        probatio.Optional(ATTR_TEMPLATE): cv.string,
        probatio.Optional(ATTR_PARSE_MODE, default=ParseMode.HTML.value): probatio.In(
            [mode.value for mode in ParseMode]
        ),
        probatio.Optional(ATTR_ENERGY_ENTITIES, default=list): cv.entity_ids,
        probatio.Optional(ATTR_PRICE): probatio.All(probatio.Coerce(float), probatio.Range(0)),
        probatio.Optional(ATTR_PRICE_ENTITY): cv.entity_id,
    }
)


@callback
def async_setup_report_services(hass: HomeAssistant) -> None:
    """Register `generate_report`."""

    async def generate_report(call: ServiceCall) -> ServiceResponse:
        kind = ReportKind(call.data[ATTR_KIND])
        end = call.data.get(ATTR_PERIOD_END)
        end = dt_util.as_utc(end) if end is not None else dt_util.utcnow()
        report = await async_build_report(
            hass,
            kind,
            end,
            sections=call.data.get(ATTR_SECTIONS),
            meters=call.data[ATTR_ENERGY_ENTITIES],
            price=_price(hass, call),
        )
        mode = ParseMode(call.data[ATTR_PARSE_MODE])
        if template := call.data.get(ATTR_TEMPLATE):
            text = _render_template(hass, template, report)
            report["text"] = split_messages([text.splitlines()])
        else:
            report["text"] = render_text(report, mode)
        report["markdown"] = render_markdown(report)
        report["parse_mode"] = mode.value
        async_dispatcher_send(hass, SIGNAL_REPORT_GENERATED, report)
        return report

    hass.services.async_register(
        DOMAIN,
        SERVICE_GENERATE_REPORT,
        generate_report,
        GENERATE_REPORT_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


def _price(hass: HomeAssistant, call: ServiceCall) -> EnergyPrice:
    entity_id = call.data.get(ATTR_PRICE_ENTITY)
    current = None
    if entity_id and (state := hass.states.get(entity_id)) is not None:
        try:
            current = float(state.state)
        except ValueError:
            current = None
    return EnergyPrice(fixed=call.data.get(ATTR_PRICE), entity_id=entity_id, current=current)


def _render_template(hass: HomeAssistant, source: str, report: dict[str, Any]) -> str:
    try:
        rendered = Template(source, hass).async_render({"report": report}, parse_result=False)
    except TemplateError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="report_template_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    return str(rendered)


async def async_build_report(
    hass: HomeAssistant,
    kind: ReportKind,
    end: datetime,
    *,
    sections: list[str] | None = None,
    meters: list[str] | None = None,
    price: EnergyPrice | None = None,
) -> dict[str, Any]:
    """The report's figures (JSON-ready), without text."""
    period = period_for(kind, end)
    wanted = [s for s in SECTIONS[kind] if sections is None or s in sections]
    clusters = loaded_clusters(hass)
    data: dict[str, Any] = {}
    statistics = recorder_running(hass)
    if kind is ReportKind.DAILY:
        data = await _daily(hass, clusters, period, wanted)
    elif not statistics:
        pass  # the text says why the figures are missing
    elif kind is ReportKind.WEEKLY:
        data = await async_weekly_sections(hass, clusters, period)
    else:
        data["energy"] = await async_energy_section(
            hass, meters or [], price or EnergyPrice(), period
        )
    return {
        "kind": kind.value,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "previous_start": period.previous_start.isoformat(),
        "generated_at": dt_util.utcnow().replace(microsecond=0).isoformat(),
        "sections": {name: data[name] for name in wanted if name in data},
        "statistics": statistics,
    }


async def _daily(
    hass: HomeAssistant, clusters: list[Any], period: ReportPeriod, wanted: list[str]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "alerts" in wanted:
        data["alerts"] = alerts_section(hass, period)
    if "guests" in wanted or "tasks" in wanted:
        failed, changes = await tasks_section(clusters, period)
        data["guests"] = {**guests_section(clusters), "changes": changes}
        data["tasks"] = failed
    if "nodes" in wanted:
        data["nodes"] = nodes_section(clusters)
    if "backups" in wanted:
        data["backups"] = await backups_section(hass)
    if "containers" in wanted:
        data["containers"] = containers_section(hass)
    if "network" in wanted:
        data["network"] = network_section(hass)
    return data
