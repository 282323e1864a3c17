"""Answers GraphQL Analytics queries over `viewer.zones.httpRequests1hGroups` like Cloudflare.

Only the fields below exist; anything else is a GraphQL error (HTTP 200 with `errors`), as are
zones the token may not read analytics of.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from .graphql import EnumValue, Field, GraphQLSyntaxError, parse, resolve
from .traffic import HOUR, HourFigures, ZoneTraffic

SUM_FIELDS: Final[dict[str, Callable[[HourFigures], int]]] = {
    "requests": lambda f: f.requests,
    "cachedRequests": lambda f: f.cached_requests,
    "bytes": lambda f: f.bytes,
    "cachedBytes": lambda f: f.cached_bytes,
    "threats": lambda f: f.threats,
    "pageViews": lambda f: f.page_views,
}
MAX_GROUPS: Final = 10_000
MAX_RANGE: Final = 3 * 24 * HOUR + HOUR  # the 1h dataset answers about three days at a time


class QueryError(Exception):
    """One entry of the answer's `errors` array."""

    def __init__(self, message: str, path: list[str] | None = None) -> None:
        """A message, and the field path it concerns."""
        super().__init__(message)
        self.path = path


def _time(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise QueryError(f"{name}: expected a Time (RFC 3339) string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise QueryError(f"{name}: {value!r} is not RFC 3339") from err
    if parsed.tzinfo is None:
        raise QueryError(f"{name}: a time zone is required")
    return parsed.timestamp()


def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnalyticsApi:
    """Executes queries against the zones' traffic models."""

    def __init__(
        self,
        traffic: dict[str, ZoneTraffic],
        readable: Callable[[str], bool],
        clock: Callable[[], float],
    ) -> None:
        """`traffic` by zone id; `readable(zone_id)`: may the caller's token read its analytics."""
        self._traffic = traffic
        self._readable = readable
        self._clock = clock

    def execute(self, query: Any, variables: Any) -> dict[str, Any]:
        """The JSON answer to a POSTed query: `{"data": ..., "errors": ...}`."""
        if not isinstance(query, str):
            return _failed(QueryError("the request has no query"))
        try:
            operation = parse(query)
            values = {**operation.variable_defaults, **(variables or {})}
            data: dict[str, Any] = {}
            for selected in operation.selections:
                data[selected.response_key] = self._query_field(selected, values)
        except GraphQLSyntaxError as err:
            return _failed(QueryError(f"syntax error: {err}"))
        except QueryError as err:
            return _failed(err)
        return {"data": data, "errors": None}

    def _query_field(self, selected: Field, variables: dict[str, Any]) -> dict[str, Any]:
        if selected.name != "viewer":
            raise QueryError(f"unknown field {selected.name!r} on Query", [selected.name])
        return self._viewer(selected, variables)

    def _viewer(self, viewer: Field, variables: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for selected in viewer.selections:
            if selected.name != "zones":
                raise QueryError(f"unknown field {selected.name!r} on viewer", ["viewer"])
            answer[selected.response_key] = self._zones(selected, variables)
        return answer

    def _zones(self, zones: Field, variables: dict[str, Any]) -> list[dict[str, Any]]:
        arguments = {key: resolve(value, variables) for key, value in zones.arguments.items()}
        unknown = set(arguments) - {"filter", "limit"}
        if unknown:
            raise QueryError(f"unknown argument {sorted(unknown)[0]!r} on zones", ["zones"])
        where = arguments.get("filter") or {}
        if set(where) - {"zoneTag", "zoneTag_in"}:
            raise QueryError("zones accepts the filters zoneTag and zoneTag_in", ["zones"])
        tags = list(where.get("zoneTag_in") or []) + (
            [where["zoneTag"]] if "zoneTag" in where else []
        )
        if not tags:
            raise QueryError("zones needs a zoneTag or zoneTag_in filter", ["viewer", "zones"])
        answer = []
        for tag in tags:
            if tag not in self._traffic or not self._readable(tag):
                raise QueryError(
                    "zone '" + str(tag) + "' does not have access to the path",
                    ["viewer", "zones", "httpRequests1hGroups"],
                )
            answer.append(self._zone(tag, zones.selections, variables))
        return answer

    def _zone(self, tag: str, selections: list[Field], variables: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for selected in selections:
            if selected.name == "zoneTag":
                answer[selected.response_key] = tag
            elif selected.name == "httpRequests1hGroups":
                answer[selected.response_key] = self._groups(tag, selected, variables)
            else:
                raise QueryError(f"unknown field {selected.name!r} on zone", ["zones"])
        return answer

    def _groups(self, tag: str, groups: Field, variables: dict[str, Any]) -> list[dict[str, Any]]:
        path = ["viewer", "zones", "httpRequests1hGroups"]
        arguments = {key: resolve(value, variables) for key, value in groups.arguments.items()}
        if set(arguments) - {"limit", "filter", "orderBy"}:
            raise QueryError("httpRequests1hGroups accepts limit, filter and orderBy", path)
        limit = arguments.get("limit")
        if not isinstance(limit, int) or not 0 < limit <= MAX_GROUPS:
            raise QueryError(f"limit must be between 1 and {MAX_GROUPS}", path)
        now = self._clock()
        low, high = self._range(arguments.get("filter") or {}, path)
        if high - low > MAX_RANGE:
            raise QueryError("the requested time range is too large for this dataset", path)
        order = arguments.get("orderBy") or [EnumValue("datetime_ASC")]
        names = [item.name if isinstance(item, EnumValue) else item for item in order]
        if names not in (["datetime_ASC"], ["datetime_DESC"]):
            raise QueryError("orderBy: only datetime_ASC or datetime_DESC are known", path)
        first = int(low // HOUR * HOUR) + (HOUR if low % HOUR else 0)
        last = min(high, now)
        starts = list(range(first, int(last) + 1, HOUR))
        starts = [start for start in starts if start < high and start <= now]
        if names == ["datetime_DESC"]:
            starts.reverse()
        traffic = self._traffic[tag]
        return [
            self._group(traffic.hour(start, now), start, groups.selections)
            for start in starts[:limit]
        ]

    def _range(self, where: dict[str, Any], path: list[str]) -> tuple[float, float]:
        known = {"datetime_geq", "datetime_gt", "datetime_leq", "datetime_lt"}
        if not isinstance(where, dict) or set(where) - known:
            raise QueryError("filter: only datetime_geq/gt/leq/lt are known here", path)
        if "datetime_geq" not in where and "datetime_gt" not in where:
            raise QueryError("filter needs a lower datetime bound", path)
        low = (
            _time(where["datetime_geq"], "datetime_geq")
            if "datetime_geq" in where
            else _time(where["datetime_gt"], "datetime_gt") + 1
        )
        high = self._clock() + 1
        if "datetime_lt" in where:
            high = _time(where["datetime_lt"], "datetime_lt")
        elif "datetime_leq" in where:
            high = _time(where["datetime_leq"], "datetime_leq") + 1
        return low, high

    def _group(self, figures: HourFigures, start: int, selections: list[Field]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for selected in selections:
            if selected.name == "dimensions":
                dimensions: dict[str, Any] = {}
                for dimension in selected.selections:
                    if dimension.name == "datetime":
                        dimensions[dimension.response_key] = _rfc3339(start)
                    elif dimension.name == "date":
                        dimensions[dimension.response_key] = _rfc3339(start)[:10]
                    else:
                        raise QueryError(f"unknown dimension {dimension.name!r}", ["dimensions"])
                answer[selected.response_key] = dimensions
            elif selected.name == "sum":
                sums: dict[str, Any] = {}
                for figure in selected.selections:
                    if figure.name not in SUM_FIELDS:
                        raise QueryError(f"unknown field {figure.name!r} on sum", ["sum"])
                    sums[figure.response_key] = SUM_FIELDS[figure.name](figures)
                answer[selected.response_key] = sums
            else:
                raise QueryError(f"unknown field {selected.name!r} on group", ["groups"])
        return answer


def _failed(error: QueryError) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": str(error), "path": error.path, "extensions": {"code": "4000"}}],
    }
