"""A small async client for the Alertmanager v2 API on Home Assistant's aiohttp session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

import aiohttp
from yarl import URL

from ..const import REQUEST_TIMEOUT
from .models import AlertStatus, IncomingAlert, Silence, occurrence_time
from .payload import end_time


class AlertmanagerError(Exception):
    """Alertmanager could not be asked or its answer was not understood."""


class AlertmanagerConnectionError(AlertmanagerError):
    """Alertmanager did not answer (refused, timeout, TLS, DNS, 5xx)."""


class AlertmanagerTlsError(AlertmanagerConnectionError):
    """The TLS handshake failed: an untrusted or mismatched certificate."""


class AlertmanagerAuthError(AlertmanagerError):
    """Alertmanager (or the proxy in front of it) refused the credentials."""


class AlertmanagerNotFoundError(AlertmanagerError):
    """The silence or resource does not exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerStatus:
    """What `GET /api/v2/status` tells about the Alertmanager we talk to."""

    version: str
    cluster_status: str  # ready, settling or disabled
    peer_name: str | None
    peers: list[str]


class PostableAlert(TypedDict):
    """An alert as `POST /api/v2/alerts` takes it (what Prometheus sends)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    endsAt: NotRequired[str]
    generatorURL: NotRequired[str]


class AlertmanagerClient:
    """Reads alerts and silences and manages silences."""

    def __init__(
        self, session: aiohttp.ClientSession, url: str, authorization: str | None = None
    ) -> None:
        """Talk to the Alertmanager at `url` (its base URL); `authorization` is a header value."""
        self._session = session
        self._base = URL(url.rstrip("/"))
        self._headers = {"Authorization": authorization} if authorization else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        url = self._base.with_path(f"{self._base.path.rstrip('/')}/api/v2/{path}")
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                json=json,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT.total_seconds()),
            ) as response:
                if response.status in (401, 403):
                    raise AlertmanagerAuthError(f"HTTP {response.status}")
                if response.status == 404:
                    raise AlertmanagerNotFoundError(await _error_text(response))
                if response.status >= 500:
                    text = await _error_text(response)
                    # Alertmanager 0.25 answers 500 "silence not found" for unknown silences.
                    if "not found" in text:
                        raise AlertmanagerNotFoundError(text)
                    raise AlertmanagerConnectionError(f"HTTP {response.status}: {text}")
                if response.status >= 400:
                    raise AlertmanagerError(
                        f"HTTP {response.status}: {await _error_text(response)}"
                    )
                if response.status == 200 and response.content_type == "application/json":
                    return await response.json()
                return None
        except aiohttp.ClientSSLError as err:
            raise AlertmanagerTlsError(str(err)) from err
        except (TimeoutError, aiohttp.ClientError) as err:
            raise AlertmanagerConnectionError(str(err) or type(err).__name__) from err
        except ValueError as err:  # invalid JSON in a 200 answer
            raise AlertmanagerError(f"invalid answer: {err}") from err

    async def status(self) -> AlertmanagerStatus:
        """Read version and cluster identity."""
        body = await self._request("GET", "status")
        try:
            cluster = body["cluster"]
            return AlertmanagerStatus(
                version=str(body["versionInfo"]["version"]),
                cluster_status=str(cluster["status"]),
                peer_name=cluster.get("name"),
                peers=sorted(str(peer["name"]) for peer in cluster.get("peers") or []),
            )
        except (KeyError, TypeError) as err:
            raise AlertmanagerError("not an Alertmanager status answer") from err

    async def alerts(self, receiver: str | None) -> list[IncomingAlert]:
        """Every alert Alertmanager holds (active, silenced, inhibited) for a receiver."""
        params = {"active": "true", "silenced": "true", "inhibited": "true"}
        if receiver:
            params["receiver"] = f"^(?:{_regex_escape(receiver)})$"
        body = await self._request("GET", "alerts", params=params)
        try:
            return [_gettable_alert(alert) for alert in body]
        except (KeyError, TypeError, ValueError) as err:
            raise AlertmanagerError("not an Alertmanager alert list") from err

    async def silences(self) -> list[Silence]:
        """Active and pending silences."""
        body = await self._request("GET", "silences")
        try:
            return [
                _silence(silence)
                for silence in body
                if silence["status"]["state"] in ("active", "pending")
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise AlertmanagerError("not an Alertmanager silence list") from err

    async def create_silence(
        self,
        labels: dict[str, str],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> Silence:
        """Silence exactly the alerts carrying all of these labels."""
        matchers = [
            {"name": name, "value": value, "isRegex": False, "isEqual": True}
            for name, value in sorted(labels.items())
        ]
        return await self.create_silence_matching(matchers, starts_at, ends_at, created_by, comment)

    async def create_silence_matching(
        self,
        matchers: list[dict[str, Any]],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> Silence:
        """Silence the alerts these Alertmanager matchers select."""
        body = await self._request(
            "POST",
            "silences",
            json={
                "matchers": matchers,
                "startsAt": starts_at.isoformat(),
                "endsAt": ends_at.isoformat(),
                "createdBy": created_by,
                "comment": comment,
            },
        )
        try:
            silence_id = str(body["silenceID"])
        except (KeyError, TypeError) as err:
            raise AlertmanagerError("no silence id in the answer") from err
        return Silence(
            id=silence_id,
            state="active",
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
        )

    async def expire_silence(self, silence_id: str) -> None:
        """Expire a silence; AlertmanagerNotFoundError when it does not exist."""
        await self._request("DELETE", f"silence/{silence_id}")

    async def post_alerts(self, alerts: list[PostableAlert]) -> None:
        """Raise (or, with `endsAt` in the past, resolve) alerts, as Prometheus does."""
        await self._request("POST", "alerts", json=alerts)


async def _error_text(response: aiohttp.ClientResponse) -> str:
    text = await response.text()
    return text.strip()[:200] or response.reason or ""


def _regex_escape(value: str) -> str:
    # Alertmanager uses Go's RE2 syntax; escaping the metacharacters is enough for a name.
    return "".join(f"\\{c}" if c in r"\.+*?()|[]{}^$" else c for c in value)


def _timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("timestamp without time zone")
    return parsed


def _gettable_alert(alert: dict[str, Any]) -> IncomingAlert:
    status = alert["status"]
    return IncomingAlert(
        fingerprint=str(alert["fingerprint"]),
        status=AlertStatus.FIRING,
        starts_at=occurrence_time(_timestamp(alert["startsAt"])),
        ends_at=end_time(_timestamp(alert["endsAt"])) if alert.get("endsAt") else None,
        labels={str(k): str(v) for k, v in alert["labels"].items()},
        annotations={str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
        generator_url=str(alert.get("generatorURL") or ""),
        silenced_by=tuple(str(s) for s in status.get("silencedBy") or ()),
        inhibited_by=tuple(str(s) for s in status.get("inhibitedBy") or ()),
    )


def _silence(silence: dict[str, Any]) -> Silence:
    return Silence(
        id=str(silence["id"]),
        state=str(silence["status"]["state"]),
        matchers=[dict(m) for m in silence["matchers"]],
        starts_at=_timestamp(silence["startsAt"]),
        ends_at=_timestamp(silence["endsAt"]),
        created_by=str(silence.get("createdBy", "")),
        comment=str(silence.get("comment", "")),
    )
