"""Report text: Telegram messages and Markdown.

Telegram messages are escaped for one parse mode (HTML, MarkdownV2 or plain) and hold at most
4,096 characters each; Markdown is for notifications and dashboards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from homeassistant.util import dt as dt_util

from ..alertmanager.notifications import MAX_MESSAGE, escape_html, escape_markdown_v2

MAX_LINES: Final = 30  # list entries per section before "… and N more"
_GIB: Final = 1024**3


class ParseMode(StrEnum):
    """telegram_bot's parse modes the text is escaped for."""

    HTML = "html"
    MARKDOWN_V2 = "markdownv2"
    PLAIN = "plain_text"


@dataclass(frozen=True, slots=True)
class Style:
    """How one output format escapes text and marks a heading."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]


STYLES: Final = {
    ParseMode.HTML: Style(escape_html, lambda s: f"<b>{s}</b>"),
    ParseMode.MARKDOWN_V2: Style(escape_markdown_v2, lambda s: f"*{s}*"),
    ParseMode.PLAIN: Style(str, str),
}
# CommonMark treats a backslash before any ASCII punctuation as a literal: MarkdownV2's
# escaping is valid Markdown too.
MARKDOWN: Final = Style(escape_markdown_v2, lambda s: f"**{s}**")

type Block = list[str]  # a section: its heading line, then its lines, already escaped


def when(value: str | None) -> str:
    """A stored ISO time as the user's local `YYYY-MM-DD HH:MM`."""
    parsed = dt_util.parse_datetime(value) if value else None
    return dt_util.as_local(parsed).strftime("%Y-%m-%d %H:%M") if parsed else "—"


def _num(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _signed(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "" if value is None else f" ({value:+.{digits}f}{unit} vs previous)"


def _gib(value: float | None) -> str:
    return "—" if value is None else f"{value / _GIB:.1f} GiB"


def _limited(lines: list[str], style: Style) -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], style.escape(f"… and {len(lines) - MAX_LINES} more")]


def blocks(report: dict[str, Any], style: Style) -> list[Block]:
    """The report as escaped sections; the first is its title."""
    e, b = style.escape, style.bold
    titles = {
        "daily": "Daily summary",
        "weekly": "Weekly resource trends",
        "monthly": "Monthly energy cost",
    }
    period = f"{when(report['period_start'])} → {when(report['period_end'])}"
    result: list[Block] = [[b(e(f"📋 {titles[report['kind']]}")), e(period)]]
    if report["kind"] != "daily" and not report["statistics"]:
        result[0].append(e("No long-term statistics: the recorder is not running."))
    sections = report["sections"]
    for name, render in _SECTIONS.items():
        if name in sections:
            result.append(render(sections[name], style, report["kind"]))
    return result


def _alerts(data: dict[str, Any], style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [
        b(e("🔔 Alerts")),
        e(f"Fired {data['fired']} · resolved {data['resolved']} · open {data['open']}"),
    ]
    if data["sources"] == 0:
        return [block[0], e("No Alertmanager connected.")]
    if data["noisiest"]:
        noisy = ", ".join(f"{n['alertname']} x{n['count']}" for n in data["noisiest"])
        block.append(e(f"Noisiest: {noisy}"))
    open_lines = []
    for alert in data["open_alerts"]:
        where = f" · {alert['instance']}" if alert["instance"] else ""
        severity = alert["severity"] or "none"
        open_lines.append(
            f"{e(severity)} {b(e(alert['alertname']))}{e(f'{where} since {when(alert["since"])}')}"
        )
    return block + _limited(open_lines, style)


def _guests(data: Any, style: Style, kind: str) -> Block:
    e, b = style.escape, style.bold
    if kind == "weekly":
        block = [b(e("🖥 Busiest guests (CPU)"))]
        lines = [
            e(
                f"{g['name'] or 'guest'} ({g['vmid']}): CPU mean {_num(g['cpu']['mean'], '%')}"
                f" peak {_num(g['cpu']['peak'], '%')}{_signed(g['cpu']['change'], ' pt')}"
                f" · memory mean {_num(g['memory']['mean'], '%')}"
                f" peak {_num(g['memory']['peak'], '%')}"
            )
            for g in data
        ]
        return block + (lines or [e("No statistics yet.")])
    block = [
        b(e("🖥 Guests")),
        e(f"Running {data['running']} · stopped {data['stopped']}")
        + (e(f" · other {data['other']}") if data["other"] else ""),
    ]
    changes = [
        e(f"{c['guest'] or 'guest'} ({c['vmid']}) {c['change']} {when(c['ended'])}")
        for c in data["changes"]
    ]
    return block + _limited(changes, style)


def _nodes(data: list[dict[str, Any]], style: Style, kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("🧮 Nodes"))]
    if not data:
        return [*block, e("No Proxmox VE cluster connected.")]
    for node in data:
        if kind == "weekly":
            cpu, mem = node["cpu"], node["memory"]
            block.append(
                e(
                    f"{node['node']}: CPU mean {_num(cpu['mean'], '%')}"
                    f" peak {_num(cpu['peak'], '%')}"
                    f"{_signed(cpu['change'], ' pt')} · memory mean {_num(mem['mean'], '%')}"
                    f" peak {_num(mem['peak'], '%')}{_signed(mem['change'], ' pt')}"
                )
            )
        elif node["online"]:
            block.append(
                e(
                    f"{node['node']}: online · CPU {_num(node['cpu'], '%')}"
                    f" · memory {_num(node['memory'], '%')} · root {_num(node['root_fs'], '%')}"
                    f" · up {_num(node['uptime_days'], ' d')}"
                )
            )
        else:
            block.append(e(f"{node['node']}: OFFLINE"))
    return block


def _tasks(data: list[dict[str, Any]], style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    lines = [
        e(
            f"{t['node']} {t['type']}"
            + (f" {t['guest'] or 'guest'} ({t['vmid']})" if t["vmid"] is not None else "")
            + f": {t['status']} ({when(t['ended'])})"
        )
        for t in data
    ]
    return [b(e("⚠️ Failed tasks")), *(_limited(lines, style) or [e("None.")])]


def _backups(data: dict[str, Any] | None, style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("💾 Backups"))]
    if data is None:
        return [*block, e("No Proxmox Backup Server connected.")]
    block.append(
        e(
            f"Made {data['backups_made']} · failed {data['backups_failed']}"
            f" · verified {data['verified']} · verification failed {data['verification_failed']}"
            f" · stale {len(data['stale_guests'])}"
        )
    )
    stale = [
        e(
            f"Stale: {s['name'] or s['backup_id']} ({s['type']}/{s['backup_id']}),"
            f" last {when(s['last_backup'])}"
        )
        for s in data["stale_guests"]
    ]
    return block + _limited(stale, style)


def _containers(data: dict[str, Any] | None, style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("📦 Containers"))]
    if data is None:
        return [*block, e("No Docker engine connected.")]
    for engine in data["engines"]:
        if not engine["available"]:
            block.append(e(f"{engine['engine']}: UNREACHABLE"))
            continue
        block.append(
            e(f"{engine['engine']}: running {engine['running']} · stopped {engine['stopped']}")
        )
        lines = []
        for c in engine["attention"]:
            detail = c["state"]
            if c["health"] == "unhealthy":
                detail += ", unhealthy"
            if c["exit_code"] not in (None, 0):
                detail += f", exit code {c['exit_code']}"
            lines.append(e(f"{c['name']}: {detail}"))
        block += _limited(lines, style)
    return block


def _network(data: dict[str, Any] | None, style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("🌐 Network"))]
    if data is None:
        return [*block, e("No network source connected.")]
    block.append(e(f"Anomalies active {data['anomalies']}"))
    lines = []
    for source in data["sources"]:
        if not source["available"]:
            lines.append(e(f"{source['title']}: UNREACHABLE"))
        lines += [
            e(f"{source['title']}: {a['explanation']} (since {when(a['since'])})")
            for a in source["anomalies"]
        ]
    return block + _limited(lines, style)


def _storage(data: list[dict[str, Any]], style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("🗄 Storage"))]
    for s in data:
        growth = (
            "—" if s["growth_per_day"] is None else f"{s['growth_per_day'] / _GIB:+.2f} GiB/day"
        )
        full = "" if s["days_until_full"] is None else f" · full in {s['days_until_full']:.1f} days"
        block.append(e(f"{s['storage']}: {_gib(s['used'])} of {_gib(s['total'])} · {growth}{full}"))
    return block if data else [*block, e("No storage.")]


def _energy(data: dict[str, Any], style: Style, _kind: str) -> Block:
    e, b = style.escape, style.bold
    block = [b(e("⚡ Energy"))]
    if not data["meters"]:
        return [*block, e("No energy or power sensor chosen.")]
    currency = data["currency"]
    for meter in data["meters"]:
        cost = "" if meter["cost"] is None else f" · {meter['cost']:.2f} {currency}"
        block.append(e(f"{meter['name']}: {meter['kwh']:.1f} kWh{cost}"))
    change = "" if data["change_percent"] is None else f" ({data['change_percent']:+.1f}%)"
    block.append(
        b(e(f"Total {data['kwh']:.1f} kWh")) + e(f" vs {data['previous_kwh']:.1f} kWh{change}")
    )
    if data["cost"] is not None:
        before = (
            "" if data["previous_cost"] is None else f" vs {data['previous_cost']:.2f} {currency}"
        )
        block.append(b(e(f"Cost {data['cost']:.2f} {currency}")) + e(before))
    return block


_SECTIONS: Final[dict[str, Callable[[Any, Style, str], Block]]] = {
    "alerts": _alerts,
    "guests": _guests,
    "nodes": _nodes,
    "tasks": _tasks,
    "backups": _backups,
    "containers": _containers,
    "network": _network,
    "storage": _storage,
    "energy": _energy,
}


def split_messages(parts: list[Block], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack sections into messages of at most `limit` characters, never cutting a line."""
    lines: list[str] = []
    for index, block in enumerate(parts):
        if index:
            lines.append("")
        lines += block
    messages: list[str] = []
    current = ""
    for full_line in lines:
        line = full_line[:limit]  # names are clipped upstream; this only guards the limit
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            messages.append(current.strip("\n"))
            current = line
        else:
            current = candidate
    if current.strip("\n"):
        messages.append(current.strip("\n"))
    return messages


def render_text(report: dict[str, Any], mode: ParseMode) -> list[str]:
    """Telegram messages in one parse mode."""
    return split_messages(blocks(report, STYLES[mode]))


def render_markdown(report: dict[str, Any]) -> str:
    """One Markdown document (headings bold, lines as paragraphs)."""
    return "\n\n".join("  \n".join(block) for block in blocks(report, MARKDOWN))
